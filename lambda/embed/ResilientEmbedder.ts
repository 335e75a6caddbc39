/**
 * The embedding stage for one job: rate limiting, the one retry layer, and
 * splitting of batches the endpoint finds too large.
 */
import pRetry from 'p-retry';
import {
  EncodingRefusedError,
  EndpointError,
  type EndpointErrorDetails,
  InvalidResponseError,
  JobStoppedError,
  PayloadTooLargeError,
  UnreachableEndpointError,
} from '../errors.ts';
import { emptyRequestStats, type RequestStats, type TokenStats } from '../types.ts';
import { statusKey } from './errorFromResponse.ts';
import { estimateTokens as defaultEstimateTokens } from './modelFacts.ts';
import type { RateLimiter, Release } from './RateLimiter.ts';
import { statedInputLimit } from './statedInputLimit.ts';
import type { BatchCall, BatchEmbedder, BatchEmbedding, CallUsage, EmbeddingsTransport } from './types.ts';

/** Options of {@link ResilientEmbedder}. */
export interface ResilientEmbedderOptions {
  /** Retries after the first attempt of one request. @default 8 */
  readonly retries?: number;
  /** First backoff; doubles per retry, times a random factor in [1, 2). @default 500 */
  readonly minTimeoutMs?: number;
  /** Longest backoff (a longer Retry-After is still honoured in full, up to `maxRetryWaitMs`). @default 30_000 */
  readonly maxTimeoutMs?: number;
  /**
   * Most time one request may spend waiting between its attempts, all waits
   * together (`--max-retry-wait`). A Retry-After longer than this fails the
   * request at once; a wait that would take the total past it gives up.
   * @default 300_000
   */
  readonly maxRetryWaitMs?: number;
  /** Attempts at an endpoint that refuses connections or whose host is not found. @default 3 */
  readonly unreachableAttempts?: number;
  /** Expected dimension when known up front; otherwise learned from the first response. */
  readonly dimensions?: number;
  /** Token estimate charged to the limiter per input. @default estimateTokens (ceil(bytes / 3)) */
  readonly estimateTokens?: (text: string) => number;
  /** Aborts every request and wait of this embedder (the job is stopping). */
  readonly signal?: AbortSignal;
  /** Told about each failed attempt that will be retried (for logs). */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** One failed attempt that will be tried again. */
export interface RetryEvent {
  readonly error: Error;
  /** 1-based attempt number of the attempt that failed. */
  readonly attempt: number;
  readonly retriesLeft: number;
  /** Most attempts this request gets (fewer for an unreachable endpoint). */
  readonly maxAttempts: number;
  /** How long until the next attempt, in ms. */
  readonly delayMs: number;
  readonly inputs: number;
}

/** Default `retries`. */
export const DEFAULT_RETRIES = 8;
/** Default `minTimeoutMs`. */
export const DEFAULT_MIN_TIMEOUT_MS = 500;
/** Default `maxTimeoutMs`. */
export const DEFAULT_MAX_TIMEOUT_MS = 30_000;
/** Default `maxRetryWaitMs`: a few minutes of waiting for one batch, then the job fails and says why. */
export const DEFAULT_MAX_RETRY_WAIT_MS = 300_000;
/** Default `unreachableAttempts`: about 3 s of trying, then a line naming the host. */
export const DEFAULT_UNREACHABLE_ATTEMPTS = 3;

/** What one request's retries have used so far, and what comes next. */
interface RetryState {
  /** Attempts made. */
  attempts: number;
  /** Waits planned so far, in ms. */
  waitedMs: number;
  /** The wait before the next attempt; undefined when there is none. */
  nextDelayMs: number | undefined;
  /** The error to fail with instead of the last one (it says why retrying stopped). */
  final: unknown;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An AbortController that aborts when any of `parents` does (at once if one
 * already has). Linked by hand rather than AbortSignal.any, whose per-call
 * listeners some Node 20 releases leak; call `unlink` when done.
 */
function linkedController(
  parents: readonly (AbortSignal | undefined)[],
): AbortController & { unlink: () => void } {
  const controller = new AbortController();
  const linked = parents.filter((parent): parent is AbortSignal => parent !== undefined);
  const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  for (const parent of linked) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener('abort', onAbort, { once: true });
  }
  return Object.assign(controller, {
    unlink: () => {
      for (const parent of linked) parent.removeEventListener('abort', onAbort);
    },
  });
}

function isRetryable(error: unknown): boolean {
  return error instanceof Error && (error as { retryable?: unknown }).retryable === true;
}

function checkCount(name: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    const what = min === 0 ? 'a non-negative integer' : 'a positive integer';
    throw new TypeError(`Expected \`${name}\` to be ${what}, got ${value}`);
  }
}

/** The same error class with a message that says why retrying stopped, so the job's one line is clear. */
function rewrapped(error: EndpointError, message: string): EndpointError {
  // Every EndpointError subclass shares the (message, details, options) constructor; the
  // error itself carries the details (status, retryAfterMs, serverMessage, host).
  const Class = error.constructor as new (
    message: string,
    details: EndpointErrorDetails,
    options?: ErrorOptions,
  ) => EndpointError;
  return new Class(message, error, { cause: error });
}

/** The same error class with a message that says the retries ran out. */
function gaveUp(error: unknown, attempts: number): unknown {
  if (!(error instanceof EndpointError) || attempts <= 1) return error;
  return rewrapped(error, `gave up after ${attempts} attempts: ${error.message}`);
}

/**
 * Implements {@link BatchEmbedder} over a transport and a shared {@link RateLimiter}.
 *
 * Each request goes through the limiter and is retried with p-retry
 * (exponential backoff with jitter) while its error is `retryable`; a server's
 * Retry-After pauses the whole limiter and is waited out in full, unless it is
 * longer than `maxRetryWaitMs`: then the request fails at once, saying so.
 * All waits of one request together stay within `maxRetryWaitMs`. An
 * unreachable endpoint (refused, host not found) gets `unreachableAttempts`
 * attempts; a refused base64 encoding is retried at once (the transport
 * switched to floats). Every retry is told to `onRetry` with its wait.
 * Authentication, unknown-model and bad-request errors fail at once. A batch
 * refused as too large is split in halves until the halves pass; an input
 * refused alone is returned in `rejected`. Counters follow usage.json: every
 * attempt is counted in `sent` and in exactly one of `succeeded`, `retried`
 * or `failed` (a batch split in halves counts as retried; an input refused alone
 * as failed, though the job goes on); 429s also in `throttled`.
 */
export class ResilientEmbedder implements BatchEmbedder {
  /** Request counters (usage.json `requests`), updated live. */
  readonly requests: RequestStats = emptyRequestStats();
  /** Token counters (usage.json `tokens`) from the server's `usage`, or estimates where it sent none. */
  readonly tokens: TokenStats = { prompt: 0, total: 0 };
  readonly transport: EmbeddingsTransport;
  readonly limiter: RateLimiter;

  readonly #retries: number;
  readonly #minTimeoutMs: number;
  readonly #maxTimeoutMs: number;
  readonly #maxRetryWaitMs: number;
  readonly #unreachableAttempts: number;
  readonly #estimate: (text: string) => number;
  readonly #signal: AbortSignal | undefined;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;
  #dimensions: number | undefined;
  /** Most inputs per request the server has shown it takes, after refusing more with a 413. */
  #inputCap = Number.POSITIVE_INFINITY;

  constructor(transport: EmbeddingsTransport, limiter: RateLimiter, options: ResilientEmbedderOptions = {}) {
    checkCount('retries', options.retries, 0);
    checkCount('minTimeoutMs', options.minTimeoutMs, 0);
    checkCount('maxTimeoutMs', options.maxTimeoutMs, 0);
    checkCount('maxRetryWaitMs', options.maxRetryWaitMs, 0);
    checkCount('unreachableAttempts', options.unreachableAttempts, 1);
    checkCount('dimensions', options.dimensions, 1);
    this.transport = transport;
    this.limiter = limiter;
    this.#retries = options.retries ?? DEFAULT_RETRIES;
    this.#minTimeoutMs = options.minTimeoutMs ?? DEFAULT_MIN_TIMEOUT_MS;
    this.#maxTimeoutMs = Math.max(this.#minTimeoutMs, options.maxTimeoutMs ?? DEFAULT_MAX_TIMEOUT_MS);
    this.#maxRetryWaitMs = options.maxRetryWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS;
    this.#unreachableAttempts = options.unreachableAttempts ?? DEFAULT_UNREACHABLE_ATTEMPTS;
    this.#estimate = options.estimateTokens ?? defaultEstimateTokens;
    this.#signal = options.signal;
    this.#onRetry = options.onRetry;
    this.#dimensions = options.dimensions;
  }

  /** The vector dimension: given up front, or learned from the first response. */
  get dimensions(): number | undefined {
    return this.#dimensions;
  }

  /** Most inputs per request the endpoint took after refusing more with a 413; undefined until then. */
  get maxInputs(): number | undefined {
    return Number.isFinite(this.#inputCap) ? this.#inputCap : undefined;
  }

  /** Attempts that failed and were tried again so far (for a progress display). */
  get retries(): number {
    return this.requests.retried;
  }

  /**
   * Embeds one batch. Throws only when the job must fail: authentication,
   * unknown model, a bad request, or an endpoint still failing after all retries.
   */
  async embedBatch(
    texts: readonly string[],
    signal?: AbortSignal,
    call?: BatchCall,
  ): Promise<BatchEmbedding> {
    if (texts.length === 0) return { vectors: [], rejected: [] };
    // One failing half stops its sibling: the batch has failed either way.
    const stop = linkedController([this.#signal, signal]);
    try {
      return await this.#embedSplitting(texts, stop.signal, call);
    } catch (error) {
      stop.abort(error);
      throw error;
    } finally {
      stop.unlink();
    }
  }

  /** Resolves when nothing waits for the limiter and a concurrency slot is free. */
  whenIdle(): Promise<void> {
    return this.limiter.whenIdle();
  }

  async #embedSplitting(
    texts: readonly string[],
    signal: AbortSignal,
    call: BatchCall | undefined,
  ): Promise<BatchEmbedding> {
    // A server that refused larger batches before gets them in pieces it took, not another 413 each time.
    if (texts.length > this.#inputCap) return this.#embedInPieces(texts, this.#inputCap, signal, call);
    try {
      return { vectors: await this.#embedWithRetries(texts, signal, call), rejected: [] };
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError)) throw error;
      if (texts.length === 1) {
        return {
          vectors: [undefined],
          rejected: [{ index: 0, reason: error.serverMessage ?? error.message }],
        };
      }
      // The server may say how many it takes; otherwise halve until the pieces pass.
      const stated = statedInputLimit(error.serverMessage);
      const size = stated !== undefined && stated < texts.length ? stated : Math.ceil(texts.length / 2);
      const result = await this.#embedInPieces(texts, size, signal, call);
      // Pieces that passed whole mean the server caps inputs per request: remember it. A refusal
      // of single inputs means one text was too long, which says nothing about batch sizes.
      if (result.rejected.length === 0) this.#inputCap = Math.min(this.#inputCap, size);
      return result;
    }
  }

  /** Embeds `texts` in pieces of `size`, all at once (the shared limiter keeps them within the rate). */
  async #embedInPieces(
    texts: readonly string[],
    size: number,
    signal: AbortSignal,
    call: BatchCall | undefined,
  ): Promise<BatchEmbedding> {
    const starts = Array.from({ length: Math.ceil(texts.length / size) }, (_, i) => i * size);
    const pieces = await Promise.all(
      starts.map((start) => this.#embedSplitting(texts.slice(start, start + size), signal, call)),
    );
    return {
      vectors: pieces.flatMap((piece) => piece.vectors),
      rejected: pieces.flatMap((piece, i) =>
        piece.rejected.map((rejected) => ({
          index: rejected.index + (starts[i] ?? 0),
          reason: rejected.reason,
        })),
      ),
    };
  }

  #embedWithRetries(
    texts: readonly string[],
    signal: AbortSignal,
    call: BatchCall | undefined,
  ): Promise<Float32Array[]> {
    const estimated = texts.reduce((sum, text) => sum + this.#estimate(text), 0);
    const state: RetryState = { attempts: 0, waitedMs: 0, nextDelayMs: undefined, final: undefined };
    // The embedder's own counters, and the caller's for this call.
    const counters: CallUsage[] = call?.usage === undefined ? [this] : [this, call.usage];
    const stopSending = call?.stopSending;
    return pRetry(
      (attempt) => this.#attempt(texts, estimated, attempt, state, signal, counters, stopSending),
      {
        retries: this.#retries,
        // p-retry counts and stops; the waits are planned in #planRetry (Retry-After, deadline,
        // unreachable hosts) so they can be announced and bounded, and slept here.
        minTimeout: 0,
        maxTimeout: 0,
        signal,
        shouldRetry: async () => {
          const delayMs = state.nextDelayMs;
          if (delayMs === undefined) return false;
          await sleep(delayMs, signal);
          return true;
        },
      },
    ).catch((error: unknown) => {
      // Only an exhausted budget gets the "gave up" wording; a 401 on a retry is just a 401.
      if (signal.aborted || !isRetryable(error)) throw error;
      throw state.final ?? gaveUp(error, state.attempts);
    });
  }

  /**
   * Whether and when a failed attempt is tried again: the wait is the
   * exponential backoff with jitter (a Retry-After if longer); undefined, with
   * `state.final` set when it says more than the error, when it is not.
   */
  #planRetry(error: unknown, attempt: number, state: RetryState): number | undefined {
    if (!isRetryable(error)) return undefined;
    const maxAttempts = this.#maxAttemptsFor(error);
    if (attempt >= maxAttempts) return undefined;
    // The client asks for floats from now on: no reason to wait.
    if (error instanceof EncodingRefusedError) return 0;
    const retryAfterMs = error instanceof EndpointError ? error.retryAfterMs : undefined;
    if (retryAfterMs !== undefined && retryAfterMs > this.#maxRetryWaitMs && error instanceof EndpointError) {
      state.final = rewrapped(
        error,
        `the endpoint asked to wait ${seconds(retryAfterMs)} before trying again, longer than the ${seconds(this.#maxRetryWaitMs)} allowed (--max-retry-wait): ${error.message}`,
      );
      return undefined;
    }
    // Jitter spreads the retries of workers that failed together.
    const backoff = Math.min(
      this.#maxTimeoutMs,
      this.#minTimeoutMs * 2 ** (attempt - 1) * (1 + Math.random()),
    );
    const delayMs = Math.round(Math.max(backoff, retryAfterMs ?? 0));
    if (state.waitedMs + delayMs > this.#maxRetryWaitMs && error instanceof EndpointError) {
      state.final = rewrapped(
        error,
        `gave up after ${attempt} attempts and ${seconds(state.waitedMs)} of waiting (--max-retry-wait ${seconds(this.#maxRetryWaitMs)}): ${error.message}`,
      );
      return undefined;
    }
    return delayMs;
  }

  #maxAttemptsFor(error: unknown): number {
    const all = this.#retries + 1;
    return error instanceof UnreachableEndpointError ? Math.min(all, this.#unreachableAttempts) : all;
  }

  /** One HTTP attempt: wait for the limiter, send, count, validate. */
  async #attempt(
    texts: readonly string[],
    estimated: number,
    attempt: number,
    state: RetryState,
    signal: AbortSignal,
    counters: readonly CallUsage[],
    stopSending: AbortSignal | undefined,
  ): Promise<Float32Array[]> {
    state.attempts = attempt;
    state.nextDelayMs = undefined;
    // A Retry-After from the last attempt paused the limiter: this waits it out,
    // together with every other worker.
    const release = await this.#acquire(estimated, signal, stopSending);
    const bump = (key: 'sent' | 'succeeded' | 'retried' | 'throttled' | 'failed'): void => {
      for (const c of counters) c.requests[key]++;
    };
    const count = (status: string): void => {
      for (const c of counters) c.requests.byStatus[status] = (c.requests.byStatus[status] ?? 0) + 1;
    };
    bump('sent');
    let answered = false;
    try {
      const response = await this.transport.embed(texts, signal);
      answered = true;
      count('200');
      this.limiter.observe(response.rateLimit);
      release('ok', response.totalTokens);
      this.#checkDimensions(response.vectors);
      bump('succeeded');
      for (const c of counters) {
        c.tokens.prompt += response.promptTokens;
        c.tokens.total += response.totalTokens;
      }
      return response.vectors;
    } catch (error) {
      // After an answer the slot is already released and the status counted.
      if (!answered) {
        // A request we cancelled ourselves got no answer to count under a status.
        count(signal.aborted && !(error instanceof EndpointError) ? 'aborted' : statusKey(error));
        // A 429 used none of the server's token budget: give the estimate back.
        if (error instanceof EndpointError && error.status === 429) release('throttled', 0);
        else release('error');
      }
      if (error instanceof EndpointError && error.status === 429) bump('throttled');
      const delayMs = signal.aborted ? undefined : this.#planRetry(error, attempt, state);
      // A batch refused as too large is tried again too, in halves (#embedSplitting).
      const willSplit = error instanceof PayloadTooLargeError && texts.length > 1;
      if (signal.aborted) {
        bump('failed');
      } else if (delayMs !== undefined) {
        // Pausing the shared limiter makes every worker wait, not just this one. Only for a wait we
        // accept: a Retry-After past the deadline fails this job, and must not hold up the next one.
        const retryAfterMs = error instanceof EndpointError ? error.retryAfterMs : undefined;
        if (retryAfterMs !== undefined) this.limiter.pauseFor(retryAfterMs);
        state.nextDelayMs = delayMs;
        state.waitedMs += delayMs;
        bump('retried');
        const maxAttempts = this.#maxAttemptsFor(error);
        this.#onRetry?.({
          error: error as Error,
          attempt,
          retriesLeft: maxAttempts - attempt,
          maxAttempts,
          delayMs,
          inputs: texts.length,
        });
      } else if (willSplit) {
        bump('retried');
      } else {
        bump('failed');
      }
      throw error;
    }
  }

  /** A grant of the limiter, given up (as `JobStoppedError`) when `stopSending` fires first. */
  async #acquire(
    estimated: number,
    signal: AbortSignal,
    stopSending: AbortSignal | undefined,
  ): Promise<Release> {
    if (stopSending === undefined) return this.limiter.acquire(estimated, signal);
    if (stopSending.aborted) throw new JobStoppedError();
    const either = linkedController([signal, stopSending]);
    try {
      return await this.limiter.acquire(estimated, either.signal);
    } catch (error) {
      if (stopSending.aborted && !signal.aborted) throw new JobStoppedError();
      throw error;
    } finally {
      either.unlink();
    }
  }

  /** Learns the dimension from the first answer; later answers must match it. */
  #checkDimensions(vectors: readonly Float32Array[]): void {
    const dimension = vectors[0]?.length;
    if (dimension === undefined) return;
    if (this.#dimensions === undefined) {
      this.#dimensions = dimension;
      return;
    }
    const wrong = vectors.find((vector) => vector.length !== this.#dimensions);
    if (wrong !== undefined) {
      throw new InvalidResponseError(
        `the endpoint sent vectors of ${wrong.length} dimensions, expected ${this.#dimensions} as before`,
        { status: 200 },
      );
    }
  }
}
