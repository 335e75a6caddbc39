/**
 * One rate limiter per job, shared by all its workers: requests per second,
 * tokens per minute, a global pause after a 429, and adaptive concurrency.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { PermitSource } from './PermitSource.ts';
import type { RateLimitHints } from './types.ts';

/** How a request granted by {@link RateLimiter.acquire} ended. */
export type ReleaseOutcome = 'ok' | 'throttled' | 'error';

/**
 * Frees the concurrency slot of one granted request; call exactly once (later
 * calls are ignored). `usedTokens`, when known, corrects the tokens-per-minute
 * budget from the estimate to what the server counted.
 */
export type Release = (outcome: ReleaseOutcome, usedTokens?: number) => void;

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained requests per second. @default undefined (no fixed cap) */
  readonly rps?: number;
  /**
   * Requests that may go at once after an idle spell (the bucket size); only
   * with `rps`. @default 1: requests evenly paced, 1/rps apart
   */
  readonly burst?: number;
  /** Tokens per minute budget, charged with each request's estimate. @default undefined (none) */
  readonly tpm?: number;
  /** Most requests in flight at once; the adaptive limit never goes above it. @default 8 */
  readonly maxConcurrency?: number;
  /** Concurrency limit to start from. @default maxConcurrency */
  readonly initialConcurrency?: number;
  /** Consecutive successes after which the concurrency limit grows by one. @default 10 */
  readonly increaseAfter?: number;
  /** Monotonic clock in ms. @default performance.now */
  readonly now?: () => number;
  /** Waits `ms`; rejects when `signal` aborts. @default timers/promises setTimeout */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * A budget shared with other processes: requests per second, burst and
   * tokens per minute come from it, in leases of send times, instead of this
   * limiter's own buckets (so `rps`, `burst` and `tpm` must not be given).
   * Pauses after a 429 and adaptive concurrency stay local.
   * @default undefined (the limiter's own buckets)
   */
  readonly budget?: PermitSource;
}

/** The default `maxConcurrency`, the pipeline's default `concurrency`. */
export const DEFAULT_MAX_CONCURRENCY = 8;
/** The default `increaseAfter`. */
export const DEFAULT_INCREASE_AFTER = 10;
/** With no fixed rate, a 429 sets the rate to this share of what was sent in the last second. */
export const LEARNED_RATE_BACKOFF = 0.9;
/** ...and each streak of `increaseAfter` successes raises it by this share, probing for more. */
export const LEARNED_RATE_PROBE = 0.02;
const LEARNED_RATE_FLOOR = 0.2;

/**
 * A fixed rate is paced at this share of itself. At exactly the server's rate
 * the server's bucket sits at empty, so a request that arrives a hair sooner
 * after the one before than it was sent (network and event-loop jitter) is
 * refused, and each 429 costs a Retry-After pause: a whole second, ten
 * requests at 10/s. Measured (BENCHMARKS.md): at 100 % of 10/s, 3 429s and
 * 82 % of the ceiling per run; at 97 %, no 429 and 96 %.
 */
export const FIXED_RATE_PACE = 0.97;

// Floating-point refills can land a hair under a whole token; treat that as whole.
const EPSILON = 1e-9;

/** A send time leased from the shared budget, and the tokens reserved with it. */
interface Slot {
  readonly at: number;
  readonly tokens: number;
}

interface Waiter {
  readonly tokens: number;
  readonly resolve: (release: Release) => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort?: () => void;
}

function checkPositive(name: string, value: number | undefined, integer = false): void {
  if (value === undefined) return;
  const ok = typeof value === 'number' && Number.isFinite(value) && value > 0;
  if (!ok || (integer && !Number.isInteger(value))) {
    throw new TypeError(
      `Expected \`${name}\` to be a positive ${integer ? 'integer' : 'number'}, got ${value}`,
    );
  }
}

/**
 * Grants requests in FIFO order when all of these allow it:
 *
 * - **requests per second**: a token bucket of `burst` (default 1) refilling
 *   `rps` x {@link FIXED_RATE_PACE} per second. Evenly paced requests never
 *   trip a server that counts requests per second window, however it counts
 *   them, and the 3 % of headroom lets the server's own bucket absorb arrival
 *   jitter;
 * - **tokens per minute**: a bucket of `tpm` tokens charged with each request's
 *   estimate (a request larger than the whole budget waits for a full bucket);
 * - **pause**: after a 429, {@link pauseFor} holds back every acquirer until
 *   the server's Retry-After has passed, so workers do not each hammer alone;
 * - **adaptive concurrency** (AIMD): the in-flight limit halves on a 429 (once
 *   per congestion event: 429s of requests sent before the cut do not cut again)
 *   and grows by one after `increaseAfter` consecutive successes, within 1..maxConcurrency.
 *
 * With a shared `budget` the first two come from it instead: the limiter
 * leases send times for the requests waiting, a fraction of a second's worth
 * at a time, and grants each request at its time. The tokens of each lease
 * are the waiters' estimates, corrected by what the server counted on the
 * next lease.
 *
 * Waiting is timer-driven (one timer at most), never a busy loop.
 */
export class RateLimiter {
  readonly rps: number | undefined;
  readonly burst: number | undefined;
  readonly tpm: number | undefined;
  readonly maxConcurrency: number;
  readonly increaseAfter: number;

  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #queue: Waiter[] = [];
  #limit: number;
  #inFlight = 0;
  #successes = 0;
  #nextSeq = 0;
  /** Grants numbered below this were sent before the last cut; their 429s do not cut again. */
  #cutFloorSeq = 0;
  #pausedUntil = Number.NEGATIVE_INFINITY;
  #rpsTokens: number;
  #rpsAt: number;
  /** With no fixed `rps`: the rate learned from 429s, undefined until the first. */
  #learnedRps: number | undefined;
  /** With no fixed `rps`: when recent requests were granted (the last second's worth). */
  #recentGrants: number[] = [];
  #tpmTokens: number;
  #tpmAt: number;
  #timer: { readonly dueAt: number; readonly controller: AbortController } | undefined;
  readonly #budget: PermitSource | undefined;
  /** Send times leased from the budget and not used yet, ascending. */
  #slots: Slot[] = [];
  #slotGraceMs = 0;
  #leasing = false;
  /** Tokens used minus tokens reserved so far, charged with the next lease. */
  #tokenCarry = 0;
  /** Callers of {@link whenIdle} still waiting. */
  #idleWaiters: (() => void)[] = [];
  #idleCheck: NodeJS.Immediate | undefined;

  constructor(options: RateLimiterOptions = {}) {
    checkPositive('rps', options.rps);
    checkPositive('burst', options.burst, true);
    checkPositive('tpm', options.tpm);
    checkPositive('maxConcurrency', options.maxConcurrency, true);
    checkPositive('initialConcurrency', options.initialConcurrency, true);
    checkPositive('increaseAfter', options.increaseAfter, true);
    if (options.burst !== undefined && options.rps === undefined) {
      throw new TypeError('Expected `burst` only together with `rps`');
    }
    const budget = options.budget;
    if (budget !== undefined && (options.rps ?? options.tpm) !== undefined) {
      throw new TypeError('Expected `rps`, `burst` and `tpm` from the shared `budget`, not beside it');
    }
    this.#budget = budget;
    this.rps = budget?.rps ?? options.rps;
    this.burst = budget?.burst ?? (options.rps === undefined ? undefined : (options.burst ?? 1));
    this.tpm = budget?.tpm ?? options.tpm;
    this.maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    this.increaseAfter = options.increaseAfter ?? DEFAULT_INCREASE_AFTER;
    this.#limit = Math.min(this.maxConcurrency, options.initialConcurrency ?? this.maxConcurrency);
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
    const start = this.#now();
    // Buckets start full: a fresh job may use its burst at once.
    this.#rpsTokens = this.burst ?? 0;
    this.#rpsAt = start;
    this.#tpmTokens = this.tpm ?? 0;
    this.#tpmAt = start;
  }

  /**
   * Requests per second in force: the fixed `rps` (paced at {@link FIXED_RATE_PACE}
   * of it), or the rate learned from 429s, or undefined (none).
   */
  get effectiveRps(): number | undefined {
    return this.rps ?? this.#learnedRps;
  }

  /** The rate requests are paced at: a fixed rate with headroom, a learned one as learned. */
  get #pacedRps(): number | undefined {
    return this.rps === undefined ? this.#learnedRps : this.rps * FIXED_RATE_PACE;
  }

  /** The current adaptive concurrency limit (1..maxConcurrency). */
  get concurrencyLimit(): number {
    return this.#limit;
  }

  /** Requests granted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Acquirers waiting for a grant. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Ms until the current pause ends; 0 when not paused. */
  get pausedForMs(): number {
    return Math.max(0, this.#pausedUntil - this.#now());
  }

  /**
   * Waits until a request of `estimatedTokens` may be sent, then holds one
   * concurrency slot until the returned release is called. Rejects with the
   * signal's reason if `signal` aborts first (the waiter leaves the queue).
   */
  acquire(estimatedTokens = 1, signal?: AbortSignal): Promise<Release> {
    if (!(Number.isFinite(estimatedTokens) && estimatedTokens >= 0)) {
      return Promise.reject(
        new TypeError(`Expected \`estimatedTokens\` to be a non-negative number, got ${estimatedTokens}`),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = { tokens: estimatedTokens, resolve, reject, signal };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          const at = this.#queue.indexOf(waiter);
          if (at >= 0) this.#queue.splice(at, 1);
          reject(signal.reason);
          // The next waiter may be able to go now (e.g. it needs fewer tokens).
          this.#pump();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /**
   * Resolves when nobody waits for a grant and a concurrency slot is free:
   * a request acquired then goes without queueing behind others (it may
   * still wait for the rate). Checked once the current turn's acquirers have
   * queued, so a batch handed to the embedder just before does not look idle.
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#idleCheck !== undefined) return;
    this.#idleCheck = setImmediate(() => {
      this.#idleCheck = undefined;
      if (this.#queue.length > 0 || this.#inFlight >= this.#limit) return; // a grant or release checks again
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    });
  }

  /**
   * Holds back every acquirer for `ms` from now (a 429's Retry-After). Pauses
   * do not shorten: a later, shorter pause leaves a longer one in place.
   */
  pauseFor(ms: number): void {
    if (!(ms > 0)) return;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + Math.min(ms, Number.MAX_SAFE_INTEGER));
    // No pump needed: a pending timer fires, sees the pause, and sleeps again.
  }

  /**
   * Learns from a response's `x-ratelimit-*` hints: when the server says no
   * requests (or tokens) remain, pause everyone until its reset.
   */
  observe(hints: RateLimitHints | undefined): void {
    if (hints === undefined) return;
    if (hints.remainingRequests !== undefined && hints.remainingRequests <= 0 && hints.resetRequestsMs) {
      this.pauseFor(hints.resetRequestsMs);
    }
    if (hints.remainingTokens !== undefined && hints.remainingTokens <= 0 && hints.resetTokensMs) {
      this.pauseFor(hints.resetTokensMs);
    }
  }

  #refill(now: number): void {
    if (this.#budget !== undefined) return;
    const rps = this.#pacedRps;
    if (rps !== undefined) {
      if (now > this.#rpsAt) {
        this.#rpsTokens = Math.min(this.burst ?? 1, this.#rpsTokens + ((now - this.#rpsAt) * rps) / 1000);
      }
      this.#rpsAt = now;
    }
    if (this.tpm !== undefined) {
      this.#tpmTokens = Math.min(this.tpm, this.#tpmTokens + ((now - this.#tpmAt) * this.tpm) / 60_000);
      this.#tpmAt = now;
    }
  }

  /** Ms until a request of `tokens` may go, 0 when it may go now. Refills first. */
  #waitMs(tokens: number, now: number): number {
    this.#refill(now);
    let wait = this.#pausedUntil - now;
    const rps = this.#pacedRps;
    if (rps !== undefined) {
      if (this.#rpsTokens < 1 - EPSILON) wait = Math.max(wait, ((1 - this.#rpsTokens) * 1000) / rps);
    }
    if (this.tpm !== undefined) {
      // A request larger than the whole budget goes when the bucket is full, and leaves it in debt.
      const need = Math.min(tokens, this.tpm);
      if (this.#tpmTokens < need - EPSILON)
        wait = Math.max(wait, ((need - this.#tpmTokens) * 60_000) / this.tpm);
    }
    return Math.max(wait, 0);
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      // A release pumps again, so there is nothing to schedule while slots are full.
      if (this.#inFlight >= this.#limit) return;
      const head = this.#queue[0] as Waiter;
      const now = this.#now();
      const wait = this.#budget === undefined ? this.#waitMs(head.tokens, now) : this.#slotWaitMs(now);
      // No slot and a lease under way: its answer pumps again.
      if (wait === Number.POSITIVE_INFINITY) return;
      if (wait > 0) {
        this.#wakeAt(now + wait, now);
        return;
      }
      this.#queue.shift();
      this.#grant(head, now);
    }
    // Nobody waits: drop the timer so an idle limiter does not keep the process alive.
    this.#cancelTimer();
    this.#checkIdle();
  }

  #grant(waiter: Waiter, now: number): void {
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (this.#budget !== undefined) {
      const slot = this.#slots.shift();
      this.#tokenCarry += waiter.tokens - (slot?.tokens ?? 0);
    } else if (this.effectiveRps !== undefined) this.#rpsTokens -= 1;
    if (this.rps === undefined) {
      this.#recentGrants.push(now);
      while ((this.#recentGrants[0] ?? now) <= now - 1000) this.#recentGrants.shift();
    }
    if (this.tpm !== undefined && this.#budget === undefined) this.#tpmTokens -= waiter.tokens;
    this.#inFlight++;
    const seq = this.#nextSeq++;
    let released = false;
    waiter.resolve((outcome, usedTokens) => {
      if (released) return;
      released = true;
      const at = this.#now();
      this.#inFlight--;
      if (this.tpm !== undefined && usedTokens !== undefined && Number.isFinite(usedTokens)) {
        if (this.#budget !== undefined) {
          this.#tokenCarry += usedTokens - waiter.tokens;
        } else {
          this.#refill(at);
          this.#tpmTokens = Math.min(this.tpm, this.#tpmTokens + waiter.tokens - usedTokens);
        }
      }
      this.#adapt(outcome, seq);
      this.#pump();
    });
  }

  #adapt(outcome: ReleaseOutcome, seq: number): void {
    if (outcome === 'ok') {
      this.#successes++;
      if (this.#successes >= this.increaseAfter) {
        this.#successes = 0;
        if (this.#limit < this.maxConcurrency) this.#limit++;
        if (this.#learnedRps !== undefined) this.#learnedRps *= 1 + LEARNED_RATE_PROBE;
      }
      return;
    }
    this.#successes = 0;
    // Only 429s are a signal about our rate; a 500 says nothing about it.
    if (outcome === 'throttled' && seq >= this.#cutFloorSeq) {
      this.#limit = Math.max(1, Math.floor(this.#limit / 2));
      this.#cutFloorSeq = this.#nextSeq;
      if (this.rps === undefined) this.#learnRate();
    }
  }

  /**
   * No fixed rate and a 429: pace from now on at a little under what the
   * server just refused, so one congestion event is not followed by another
   * as soon as the pause ends (halving concurrency alone does not bound the
   * rate when answers are fast).
   */
  #learnRate(): void {
    const now = this.#now();
    const sentLastSecond = this.#recentGrants.filter((at) => at > now - 1000).length;
    const candidate = Math.max(LEARNED_RATE_FLOOR, sentLastSecond * LEARNED_RATE_BACKOFF);
    this.#learnedRps = Math.min(this.#learnedRps ?? Number.POSITIVE_INFINITY, candidate);
    if (this.#learnedRps === candidate) {
      this.#rpsTokens = Math.min(this.#rpsTokens, 0);
      this.#rpsAt = now;
    }
  }

  /**
   * With a shared budget: ms until the next leased slot, 0 when it is due,
   * infinite while the slots are used up and a lease is on its way. Drops
   * slots gone stale, and asks for the next lease when the waiters outnumber
   * the slots and the last slot is less than half a lease away.
   */
  #slotWaitMs(now: number): number {
    while (this.#slots.length > 0 && (this.#slots[0] as Slot).at + this.#slotGraceMs < now) {
      const stale = this.#slots.shift() as Slot;
      this.#tokenCarry -= stale.tokens;
    }
    const budget = this.#budget as PermitSource;
    const last = this.#slots.at(-1);
    if (
      !this.#leasing &&
      this.#queue.length > this.#slots.length &&
      (last === undefined || last.at - now < budget.leaseMs / 2)
    ) {
      this.#lease(budget);
    }
    const next = this.#slots[0];
    if (next === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(0, next.at - now);
  }

  /** Leases send times for the waiters beyond the slots held. */
  #lease(budget: PermitSource): void {
    const wanting = this.#queue.slice(this.#slots.length, this.#slots.length + budget.leaseRequests);
    const estimates = wanting.map((waiter) => (this.tpm === undefined ? 0 : waiter.tokens));
    const carried = this.#tokenCarry;
    const tokens = estimates.reduce((sum, n) => sum + n, 0) + carried;
    this.#tokenCarry = 0;
    this.#leasing = true;
    budget.lease({ requests: wanting.length, tokens }).then(
      (lease) => {
        this.#leasing = false;
        const at = this.#now();
        this.#slotGraceMs = lease.graceMs;
        lease.delaysMs.forEach((delayMs, i) => {
          this.#slots.push({ at: at + delayMs, tokens: estimates[i] ?? 0 });
        });
        this.#pump();
      },
      (error: unknown) => {
        this.#leasing = false;
        this.#tokenCarry += carried;
        // No permit, no request: the waiters the lease was for fail (their retries lease again).
        const failed = this.#queue.splice(this.#slots.length);
        for (const waiter of failed) {
          if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
          waiter.reject(error);
        }
        this.#pump();
      },
    );
  }

  #wakeAt(dueAt: number, now: number): void {
    // An earlier timer is kept: it pumps, and the pump schedules the rest.
    if (this.#timer !== undefined && this.#timer.dueAt <= dueAt) return;
    this.#cancelTimer();
    const controller = new AbortController();
    const timer = { dueAt, controller };
    this.#timer = timer;
    this.#sleep(Math.ceil(dueAt - now), controller.signal).then(
      () => {
        if (this.#timer !== timer) return;
        this.#timer = undefined;
        this.#pump();
      },
      () => {
        // Cancelled: a newer timer or an empty queue replaced it.
      },
    );
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    this.#timer.controller.abort();
    this.#timer = undefined;
  }
}
