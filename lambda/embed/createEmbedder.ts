/**
 * Builds the embedding stage from user-facing options: the transport (HTTP or
 * offline), the job's shared rate limiter, and the resilient embedder over both.
 */
import { ConfigError } from '../errors.ts';
import { API_OPTIONS, type OptionNames } from '../optionNames.ts';
import { type EmbeddingEncoding, HttpEmbeddingsClient } from './HttpEmbeddingsClient.ts';
import { IONOS_BASE_URL, IONOS_DEFAULT_RATE, isIonos } from './modelFacts.ts';
import { OfflineTransport } from './OfflineTransport.ts';
import type { PermitSource } from './PermitSource.ts';
import { RateLimiter } from './RateLimiter.ts';
import { ResilientEmbedder, type RetryEvent } from './ResilientEmbedder.ts';
import { withoutUrlCredentials } from './redactSecret.ts';
import type { EmbeddingsTransport } from './types.ts';

/** Options of {@link createEmbedder}; validation messages name each as given here (the CLI: its flag). */
export interface CreateEmbedderOptions {
  /** `--base-url` / `EMBEDDINGS_BASE_URL`. @default IONOS when an API key is given, else the offline embedder */
  readonly baseUrl?: string;
  /** `EMBEDDINGS_API_KEY` / `IONOS_API_TOKEN`. Never logged, never in an error. */
  readonly apiKey?: string;
  /** `--model` / `EMBEDDINGS_MODEL`. Ignored offline, where the model is `local/feature-hash`. */
  readonly model: string;
  /** `--dimensions`: requested output dimensions. @default the model's own (offline: 384) */
  readonly dimensions?: number;
  /** `--rps`: sustained requests per second. @default 5 for IONOS, else no fixed cap */
  readonly rps?: number;
  /** Most requests in any one second. @default 10 for IONOS without `rps`, else ceil(rps) */
  readonly burst?: number;
  /** `--tpm`: tokens per minute budget. @default none */
  readonly tpm?: number;
  /** `--concurrency`: most requests in flight (the adaptive limit starts here). */
  readonly concurrency: number;
  /** Wire encoding asked for. @default 'base64' */
  readonly encoding?: EmbeddingEncoding;
  /** Per-request timeout in ms. @default 60_000 */
  readonly timeoutMs?: number;
  /** A fetch to send requests with instead of node:http (tests). @default node:http(s) */
  readonly fetch?: typeof fetch;
  /** Retries per request. @default 8 */
  readonly retries?: number;
  /** First backoff in ms. @default 500 */
  readonly minTimeoutMs?: number;
  /** Longest backoff in ms. @default 30_000 */
  readonly maxTimeoutMs?: number;
  /**
   * `--max-retry-wait`, in seconds: most waiting between the attempts of one
   * request; a Retry-After longer than it fails the job at once. @default 300
   */
  readonly maxRetryWait?: number;
  /** Stops every request and wait (the job is aborting). */
  readonly signal?: AbortSignal;
  /** Told about each attempt that will be retried. */
  readonly onRetry?: (event: RetryEvent) => void;
  /**
   * Joins a rate budget shared with other processes (`--rate-table`): called
   * once with the rate resolved from `rps` (or IONOS's default), `burst` and
   * `tpm`, it returns the budget the limiter draws its permits from.
   * @default none: the limiter's own buckets
   */
  readonly rateBudget?: (rate: SharedRate) => PermitSource;
}

/** The rate a shared budget is built with (see {@link CreateEmbedderOptions.rateBudget}). */
export interface SharedRate {
  readonly rps: number;
  readonly burst?: number;
  readonly tpm?: number;
}

/** What {@link createEmbedder} builds. */
export interface CreatedEmbedder {
  /** The single-request transport (its `endpoint` and `model` go into usage.json and the outputs). */
  readonly transport: EmbeddingsTransport;
  readonly embedder: ResilientEmbedder;
  /** The job's shared limiter (exposed for progress displays and tests). */
  readonly limiter: RateLimiter;
  /** True when no API key and no base URL were given: the in-process feature-hash embedder. */
  readonly offline: boolean;
}

function blankToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function checkNumber(name: string, value: number | undefined, integer: boolean): void {
  if (value === undefined) return;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    const what = integer ? 'a positive integer' : 'a positive number';
    throw new ConfigError(`Expected \`${name}\` to be ${what}, got ${String(value)}`);
  }
}

function checkBaseUrl(baseUrl: string | undefined, name: string): void {
  if (baseUrl === undefined) return;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(
      `Expected \`${name}\` to be an http(s) URL, got "${withoutUrlCredentials(baseUrl)}"`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `Expected \`${name}\` to be an http(s) URL, got "${withoutUrlCredentials(baseUrl)}"`,
    );
  }
  // A key in the URL would end up in usage.json's `endpoint`.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      `Expected \`${name}\` without credentials; pass the key in EMBEDDINGS_API_KEY (or \`apiKey\`)`,
    );
  }
}

/**
 * Validates the options and builds the embedding stage.
 *
 * - No API key and no base URL: the offline embedder (`offline: true`).
 * - An API key without a base URL: IONOS (`IONOS_BASE_URL`).
 * - IONOS's base URL gets 5 requests/s sustained, burst 10, unless `rps` says
 *   otherwise; any other endpoint has no fixed cap and adapts to its 429s.
 *
 * Throws {@link ConfigError} naming the option, e.g. ``Expected `rps` to be a positive number, got 0``.
 *
 * @param names What the messages call the options: the library's names, or the CLI's flags when it calls.
 */
export function createEmbedder(
  options: CreateEmbedderOptions,
  names: OptionNames = API_OPTIONS,
): CreatedEmbedder {
  const baseUrl = blankToUndefined(options.baseUrl);
  const apiKey = blankToUndefined(options.apiKey);
  const model = blankToUndefined(options.model);
  checkBaseUrl(baseUrl, names.baseUrl);
  if (model === undefined)
    throw new ConfigError(`Expected \`${names.model}\` to be a model id, got an empty value`);
  checkNumber(names.dimensions, options.dimensions, true);
  checkNumber(names.rps, options.rps, false);
  checkNumber(names.burst, options.burst, true);
  checkNumber(names.tpm, options.tpm, false);
  checkNumber(names.concurrency, options.concurrency, true);
  checkNumber(names.timeoutMs, options.timeoutMs, true);
  checkNumber(names.maxRetryWait, options.maxRetryWait, false);
  if (options.concurrency === undefined) {
    throw new ConfigError(`Expected \`${names.concurrency}\` to be a positive integer, got undefined`);
  }
  if (options.encoding !== undefined && options.encoding !== 'base64' && options.encoding !== 'float') {
    throw new ConfigError(
      `Expected \`${names.wireEncoding}\` to be "base64" or "float", got "${String(options.encoding)}"`,
    );
  }

  const offline = apiKey === undefined && baseUrl === undefined;
  let transport: EmbeddingsTransport;
  let rate: { rps?: number; burst?: number } = { rps: options.rps, burst: options.burst };
  if (offline) {
    transport = new OfflineTransport({ dimensions: options.dimensions });
  } else {
    const url = baseUrl ?? IONOS_BASE_URL;
    transport = new HttpEmbeddingsClient({
      baseUrl: url,
      apiKey,
      model,
      dimensions: options.dimensions,
      encoding: options.encoding,
      timeoutMs: options.timeoutMs,
      fetch: options.fetch,
    });
    if (options.rps === undefined && isIonos(url)) {
      // Paced evenly at the sustained rate: IONOS allows bursts of 10, but using them buys no throughput.
      rate = { rps: IONOS_DEFAULT_RATE.rps, burst: options.burst };
    }
  }

  if (rate.burst !== undefined && rate.rps === undefined) {
    throw new ConfigError(`Expected \`${names.burst}\` only together with \`${names.rps}\``);
  }
  let budget: PermitSource | undefined;
  if (options.rateBudget !== undefined) {
    if (rate.rps === undefined) {
      throw new ConfigError(
        `Expected \`${names.rps}\` with \`${names.rateBudget}\`: the shared budget needs a rate`,
      );
    }
    budget = options.rateBudget({ rps: rate.rps, burst: rate.burst, tpm: options.tpm });
  }
  const limiter = new RateLimiter(
    budget === undefined
      ? { ...rate, tpm: options.tpm, maxConcurrency: options.concurrency }
      : { budget, maxConcurrency: options.concurrency },
  );
  const embedder = new ResilientEmbedder(transport, limiter, {
    retries: options.retries,
    minTimeoutMs: options.minTimeoutMs,
    maxTimeoutMs: options.maxTimeoutMs,
    ...(options.maxRetryWait === undefined
      ? {}
      : { maxRetryWaitMs: Math.round(options.maxRetryWait * 1000) }),
    dimensions: offline ? (transport as OfflineTransport).dimensions : options.dimensions,
    signal: options.signal,
    onRetry: options.onRetry,
  });
  return { transport, embedder, limiter, offline };
}
