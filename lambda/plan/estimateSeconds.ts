import { FIXED_RATE_PACE } from '../embed/RateLimiter.ts';

/** The rate a run is held to, as its limiter has it. */
export interface RunRate {
  /** Requests per second (paced at {@link FIXED_RATE_PACE} of it). undefined: no fixed cap. */
  readonly rps?: number;
  /** Requests that may go at once on a full bucket. @default 1 */
  readonly burst?: number;
  /** Tokens per minute. undefined: none. */
  readonly tpm?: number;
  /** Requests in flight at most. */
  readonly concurrency: number;
  /** What one request is assumed to take, in ms (nothing measures it before the run). */
  readonly latencyMs: number;
}

/** Which limit sets the pace. */
export type TimeBound = 'requests/s' | 'tokens/min' | 'concurrency';

/** How long the requests of a job take at a rate, and why. */
export interface TimeEstimate {
  readonly seconds: number;
  /** The bound that dominates; undefined when there is nothing to send. */
  readonly bound: TimeBound | undefined;
  /** Each bound's seconds: only those that apply. */
  readonly bounds: Readonly<Partial<Record<TimeBound, number>>>;
}

/**
 * Seconds of endpoint time for `requests` carrying `tokens`: the first
 * request alone (the run sends it alone, to fail fast), then the rest as fast
 * as the tightest bound allows, then the last answer. The bounds:
 *
 * - requests/s: beyond the burst, one request per 1 / (rps x pace) s;
 * - tokens/min: beyond a full minute's bucket, tpm / 60 tokens per second;
 * - concurrency: `concurrency` requests of `latencyMs` each at a time.
 *
 * Reading, hashing and writing are not counted: against a rate-limited
 * endpoint they hide behind the requests.
 */
export function estimateSeconds(requests: number, tokens: number, rate: RunRate): TimeEstimate {
  if (requests <= 0) return { seconds: 0, bound: undefined, bounds: {} };
  const latency = rate.latencyMs / 1000;
  if (requests === 1) return { seconds: latency, bound: 'concurrency', bounds: { concurrency: latency } };
  const rest = requests - 1;
  const bounds: Partial<Record<TimeBound, number>> = {
    concurrency: Math.ceil(rest / rate.concurrency) * latency,
  };
  if (rate.rps !== undefined) {
    bounds['requests/s'] = Math.max(0, rest - (rate.burst ?? 1)) / (rate.rps * FIXED_RATE_PACE) + latency;
  }
  if (rate.tpm !== undefined)
    bounds['tokens/min'] = (Math.max(0, tokens - rate.tpm) * 60) / rate.tpm + latency;
  let bound: TimeBound = 'concurrency';
  for (const [name, seconds] of Object.entries(bounds) as [TimeBound, number][]) {
    if (seconds > (bounds[bound] ?? 0)) bound = name;
  }
  return { seconds: latency + (bounds[bound] ?? 0), bound, bounds };
}
