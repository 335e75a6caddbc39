/**
 * The arithmetic of the shared rate budget: a generic cell rate algorithm
 * (GCRA, the virtual-scheduling form of a token bucket) over one small state.
 */

/**
 * The budget's state as stored: when each bucket would be full again if
 * nobody took more. Times are epoch ms, so every process reads them alike.
 */
export interface BudgetState {
  /** Bumped by every write; writes are conditional on it (0: no item yet). */
  readonly version: number;
  /** When the requests bucket is full again. */
  readonly requestsFullAt: number;
  /** When the tokens bucket is full again (0 without a tokens/minute budget). */
  readonly tokensFullAt: number;
}

/** The budget's rates, already paced (see `FIXED_RATE_PACE`). */
export interface BudgetRate {
  /** Requests per second. */
  readonly rps: number;
  /** Requests that may go at once after an idle spell. */
  readonly burst: number;
  /** Tokens per minute, when the budget has one. */
  readonly tpm?: number;
}

/** What {@link reserveSlots} reserved. */
export interface Reservation {
  /** The state to write. */
  readonly state: BudgetState;
  /** Epoch ms at which each reserved request may go, ascending. */
  readonly slots: readonly number[];
}

/** The state of a budget nobody has drawn from: both buckets full. */
export const EMPTY_BUDGET: BudgetState = { version: 0, requestsFullAt: 0, tokensFullAt: 0 };

/**
 * Reserves `requests` send times and `tokens` tokens at `now`.
 *
 * Requests: request `i` may go at `max(now, fullAt - (burst - 1) x interval)`,
 * after which the bucket is full one interval later (`fullAt = max(fullAt, t) + interval`).
 * Every sequence of reservations, by any number of processes, thus stays
 * within `rps` sustained and `burst` at once. Slots may lie in the future:
 * a process that reserves behind others waits its turn, which is what shares
 * the budget fairly between processes that ask in small leases.
 *
 * Tokens: the first slot waits until the tokens bucket holds `tokens`
 * (a request larger than the whole budget waits for a full bucket and leaves
 * it in debt, as the local limiter does). Negative `tokens` give back what
 * earlier estimates overcharged.
 *
 * Pure: the caller reads the state, reserves, and writes the result back
 * conditionally on `version`.
 */
export function reserveSlots(
  state: BudgetState,
  rate: BudgetRate,
  requests: number,
  tokens: number,
  now: number,
): Reservation {
  const interval = 1000 / rate.rps;
  let start = now;
  let tokensFullAt = state.tokensFullAt;
  if (rate.tpm !== undefined) {
    const perMs = rate.tpm / 60_000;
    if (tokens >= 0) {
      const need = Math.min(tokens, rate.tpm);
      start = Math.max(now, tokensFullAt - (rate.tpm - need) / perMs);
      tokensFullAt = Math.max(tokensFullAt, start) + tokens / perMs;
    } else if (tokensFullAt > now) {
      tokensFullAt = Math.max(now, tokensFullAt + tokens / perMs);
    }
  }
  let fullAt = state.requestsFullAt;
  const slots: number[] = [];
  for (let i = 0; i < requests; i++) {
    const at = Math.max(start, fullAt - (rate.burst - 1) * interval);
    fullAt = Math.max(fullAt, at) + interval;
    slots.push(at);
  }
  return {
    state: { version: state.version + 1, requestsFullAt: fullAt, tokensFullAt },
    slots,
  };
}
