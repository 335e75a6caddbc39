/**
 * Turns the embedder's retries into notices a person can follow, without
 * flooding: a job waiting on a failing endpoint says so, at most about once
 * per 5 s, instead of staying silent for minutes.
 */
import { EndpointError } from '../errors.ts';
import type { RetryEvent } from './ResilientEmbedder.ts';

/** One notice: the line to print and its parts for a structured log. */
export interface RetryNotice {
  /** E.g. `retrying in 8 s (attempt 3/9): the endpoint failed (HTTP 503)`. */
  readonly line: string;
  /** The attempt that comes next, 1-based. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly delayMs: number;
  /** HTTP status of the failure, when there was an answer. */
  readonly status?: number;
  /** Why the last attempt failed (already redacted: errors are built from redacted text). */
  readonly reason: string;
  /** Retries not announced since the last notice (throttled, or first retries). */
  readonly unannounced: number;
}

/** Options of {@link RetryAnnouncer}. */
export interface RetryAnnouncerOptions {
  /** Least time between two notices. @default 5_000 */
  readonly intervalMs?: number;
  /** A first retry waiting at least this long is announced too. @default 5_000 */
  readonly longWaitMs?: number;
  /** Clock, ms. @default performance.now */
  readonly now?: () => number;
}

/** Longest reason in a notice line. */
const MAX_REASON = 160;

function waitText(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms / 1000)} s`;
}

function reasonOf(error: Error): string {
  const oneLine = error.message.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_REASON ? `${oneLine.slice(0, MAX_REASON - 1)}…` : oneLine;
}

/**
 * Announces retries: from the second retry of a request on (a single blip is
 * not news), or a first one that waits long, and then at most one notice per
 * `intervalMs`; retries in between are counted in the next notice.
 * Pass {@link RetryAnnouncer.onRetry} as the embedder's `onRetry`.
 */
export class RetryAnnouncer {
  readonly #emit: (notice: RetryNotice) => void;
  readonly #intervalMs: number;
  readonly #longWaitMs: number;
  readonly #now: () => number;
  #last = Number.NEGATIVE_INFINITY;
  #unannounced = 0;

  constructor(emit: (notice: RetryNotice) => void, options: RetryAnnouncerOptions = {}) {
    this.#emit = emit;
    this.#intervalMs = options.intervalMs ?? 5_000;
    this.#longWaitMs = options.longWaitMs ?? 5_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The embedder's `onRetry`. */
  readonly onRetry = (event: RetryEvent): void => {
    const now = this.#now();
    const worthSaying = event.attempt >= 2 || event.delayMs >= this.#longWaitMs;
    if (!worthSaying || now - this.#last < this.#intervalMs) {
      this.#unannounced++;
      return;
    }
    this.#last = now;
    const attempt = event.attempt + 1;
    const reason = reasonOf(event.error);
    const unannounced = this.#unannounced;
    this.#unannounced = 0;
    const more =
      unannounced === 0
        ? ''
        : ` (${unannounced} more ${unannounced === 1 ? 'retry' : 'retries'} since the last notice)`;
    const status = event.error instanceof EndpointError ? event.error.status : undefined;
    this.#emit({
      line: `retrying in ${waitText(event.delayMs)} (attempt ${attempt}/${event.maxAttempts}): ${reason}${more}`,
      attempt,
      maxAttempts: event.maxAttempts,
      delayMs: event.delayMs,
      ...(status === undefined ? {} : { status }),
      reason,
      unannounced,
    });
  };
}
