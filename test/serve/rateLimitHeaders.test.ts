import { describe, expect, it } from 'vitest';
import { formatDuration, retryAfterHeader } from '../../lambda/serve/rateLimitHeaders.ts';

describe('Function: retryAfterHeader', () => {
  it.each([
    [200, '1'],
    [1000, '1'],
    [1001, '2'],
    [2500, '3'],
  ])('says whole seconds, at least 1, rounded up, for %d ms', (waitMs, seconds) => {
    // Act
    const header = retryAfterHeader('seconds', waitMs);

    // Assess
    expect(header).toEqual(['retry-after', seconds]);
  });

  it('says an HTTP date rounded up to the next whole second', () => {
    // Prepare
    const now = Date.UTC(2025, 0, 2, 3, 4, 5, 100);

    // Act
    const header = retryAfterHeader('date', 1500, now);

    // Assess
    expect(header).toEqual(['retry-after', 'Thu, 02 Jan 2025 03:04:07 GMT']);
  });

  it.each([
    [0.2, '1'],
    [250.1, '251'],
  ])('says whole ms, at least 1, in retry-after-ms for %d ms', (waitMs, ms) => {
    // Act
    const header = retryAfterHeader('ms', waitMs);

    // Assess
    expect(header).toEqual(['retry-after-ms', ms]);
  });
});

describe('Function: formatDuration', () => {
  it.each([
    [0, '0ms'],
    [249.2, '250ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [61_234, '61.234s'],
  ])('formats %d ms as a Go-style duration', (ms, text) => {
    // Act
    const formatted = formatDuration(ms);

    // Assess
    expect(formatted).toBe(text);
  });
});
