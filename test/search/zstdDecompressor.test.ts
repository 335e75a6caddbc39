import { afterEach, describe, expect, it } from 'vitest';
import { zstdDecompressor } from '../../lambda/search/parquet/zstdDecompressor.ts';

describe('Function: zstdDecompressor', () => {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'fetch');

  afterEach(() => {
    if (original !== undefined) Object.defineProperty(globalThis, 'fetch', original);
  });

  it('loads without touching fetch (on Node 20 that would load undici first), and leaves fetch as it was', async () => {
    // Arrange: a fetch that counts every read of it
    let reads = 0;
    const counting = {
      configurable: true,
      get: () => {
        reads++;
        return original?.get?.call(globalThis) ?? original?.value;
      },
    };
    Object.defineProperty(globalThis, 'fetch', counting);

    // Act
    const decompress = await zstdDecompressor();

    // Assess: the same getter is in place again, and was never called
    expect(typeof decompress).toBe('function');
    expect(reads).toBe(0);
    expect(Object.getOwnPropertyDescriptor(globalThis, 'fetch')?.get).toBe(counting.get);
  });
});
