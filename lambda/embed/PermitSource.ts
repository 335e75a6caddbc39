/**
 * Where a {@link RateLimiter} gets its permits when several processes share
 * one rate budget (see lambda/budget/DynamoRateBudget.ts).
 */

/** What one lease asks for. */
export interface PermitRequest {
  /** Requests to send (1 or more). */
  readonly requests: number;
  /**
   * Estimated tokens of those requests, plus the correction of earlier
   * estimates (negative: tokens given back). Ignored without a tokens/minute budget.
   */
  readonly tokens: number;
}

/** Send times granted by one lease. */
export interface PermitLease {
  /**
   * One entry per granted request: ms from when the lease was returned until
   * that request may go (0 or less: now), ascending.
   */
  readonly delaysMs: readonly number[];
  /**
   * How long after its time a permit may still be used. A permit used later
   * is dropped: sent late, permits would bunch into a burst the budget never allowed.
   */
  readonly graceMs: number;
}

/**
 * A shared budget of requests per second (with a burst) and, optionally,
 * tokens per minute, handed out in small leases of send times. Every holder
 * of the same budget together stays within it.
 */
export interface PermitSource {
  /** Sustained requests per second of the whole budget. */
  readonly rps: number;
  /** Requests that may go at once after an idle spell. */
  readonly burst: number;
  /** Tokens per minute of the whole budget, when it has one. */
  readonly tpm: number | undefined;
  /** Most requests one lease asks for: a fraction of a second's worth of the budget. */
  readonly leaseRequests: number;
  /** The time one full lease spans at the budget's rate, in ms (when to ask for the next). */
  readonly leaseMs: number;
  /** Reserves send times; rejects with a retryable error when the budget cannot be reached. */
  lease(request: PermitRequest): Promise<PermitLease>;
}
