/**
 * The requests/s limit of `serve-local`: a token bucket, like API gateways use.
 */

/** What the bucket says about one request. */
export type TakeResult =
  | { readonly accepted: true; readonly remaining: number }
  | { readonly accepted: false; readonly waitMs: number };

/**
 * A token bucket that starts full with `capacity` tokens and refills
 * continuously at `rate` tokens per second. Each request takes one token.
 */
export class TokenBucket {
  readonly rate: number;
  readonly capacity: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  /**
   * @param rate - tokens added per second.
   * @param capacity - the most tokens the bucket holds (the burst).
   * @param now - clock in ms; injectable for tests. @default performance.now
   */
  constructor(rate: number, capacity: number, now: () => number = () => performance.now()) {
    this.rate = rate;
    this.capacity = capacity;
    this.#now = now;
    this.#tokens = capacity;
    this.#updatedAt = now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#updatedAt) * this.rate) / 1000);
    this.#updatedAt = now;
  }

  /** Takes a token if there is one; otherwise says how long until there is. */
  take(): TakeResult {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { accepted: true, remaining: Math.floor(this.#tokens) };
    }
    return { accepted: false, waitMs: ((1 - this.#tokens) * 1000) / this.rate };
  }

  /** Whole tokens left now. */
  remaining(): number {
    this.#refill();
    return Math.floor(this.#tokens);
  }

  /** Ms until the bucket is full again. */
  msUntilFull(): number {
    this.#refill();
    return ((this.capacity - this.#tokens) * 1000) / this.rate;
  }
}
