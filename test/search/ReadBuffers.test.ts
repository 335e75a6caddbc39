import { describe, expect, it } from 'vitest';
import { ReadBuffers } from '../../lambda/search/ReadBuffers.ts';

describe('Class: ReadBuffers', () => {
  it('hands a given-back buffer out again when it is large enough, else a new one', () => {
    // Prepare
    const buffers = new ReadBuffers();
    const first = buffers.take(100);
    buffers.give(first);

    // Act
    const again = buffers.take(80);
    const other = buffers.take(50);
    buffers.give(again);
    const bigger = buffers.take(first.byteLength + 1);

    // Assess
    expect(first.byteLength).toBeGreaterThanOrEqual(100);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(bigger).not.toBe(first);
    expect(bigger.byteLength).toBeGreaterThan(first.byteLength);
  });

  it('makes a new buffer with room for a slightly larger next request', () => {
    // Prepare
    const buffers = new ReadBuffers();
    const first = buffers.take(7_069_154);
    buffers.give(first);

    // Act
    const next = buffers.take(7_069_245);

    // Assess
    expect(next).toBe(first);
  });

  it('drops a free buffer too small for a request instead of keeping both', () => {
    // Prepare
    const buffers = new ReadBuffers();
    const small = buffers.take(10);
    buffers.give(small);

    // Act
    const large = buffers.take(small.byteLength + 1);
    buffers.give(large);
    const next = buffers.take(10);
    const after = buffers.take(10);

    // Assess: the large one serves the small request; the small one is gone.
    expect(next).toBe(large);
    expect(after).not.toBe(small);
  });
});
