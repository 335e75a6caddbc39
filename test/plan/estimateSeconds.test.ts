import { describe, expect, it } from 'vitest';
import { FIXED_RATE_PACE } from '../../lambda/embed/RateLimiter.ts';
import { estimateSeconds } from '../../lambda/plan/estimateSeconds.ts';

describe('Function: estimateSeconds', () => {
  it('takes nothing for nothing, and one latency for one request', () => {
    expect(estimateSeconds(0, 0, { concurrency: 8, latencyMs: 500 })).toEqual({
      seconds: 0,
      bound: undefined,
      bounds: {},
    });
    expect(estimateSeconds(1, 10, { concurrency: 8, latencyMs: 500 }).seconds).toBe(0.5);
  });

  it('is bound by requests per second when the rate is tighter than concurrency x latency', () => {
    // Act
    const estimate = estimateSeconds(101, 1_000, { rps: 5, burst: 1, concurrency: 8, latencyMs: 400 });

    // Assess: first alone (0.4 s), 99 paced requests after the burst, the last answer (0.4 s)
    expect(estimate.bound).toBe('requests/s');
    expect(estimate.seconds).toBeCloseTo(0.4 + 99 / (5 * FIXED_RATE_PACE) + 0.4, 6);
    expect(estimate.bounds.concurrency).toBeCloseTo(Math.ceil(100 / 8) * 0.4, 6);
  });

  it('is bound by concurrency when requests are slow, and by tokens per minute when that budget is small', () => {
    // Act
    const slow = estimateSeconds(81, 1_000, { rps: 100, concurrency: 4, latencyMs: 2_000 });
    const tokens = estimateSeconds(81, 90_000, { rps: 100, tpm: 30_000, concurrency: 4, latencyMs: 100 });

    // Assess
    expect(slow.bound).toBe('concurrency');
    expect(slow.seconds).toBeCloseTo(2 + (80 / 4) * 2, 6);
    expect(tokens.bound).toBe('tokens/min');
    expect(tokens.seconds).toBeCloseTo(0.1 + ((90_000 - 30_000) * 60) / 30_000 + 0.1, 6);
  });
});
