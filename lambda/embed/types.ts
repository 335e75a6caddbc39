import type { RequestStats, TokenStats } from '../types.ts';

/** Rate-limit hints a server sent with a response (`x-ratelimit-*` headers). */
export interface RateLimitHints {
  readonly limitRequests?: number;
  readonly remainingRequests?: number;
  readonly resetRequestsMs?: number;
  readonly limitTokens?: number;
  readonly remainingTokens?: number;
  readonly resetTokensMs?: number;
}

/** The decoded answer of one successful `POST /embeddings`. */
export interface EmbeddingsResponse {
  /** One vector per input, in input order (sorted by `data[i].index`). */
  readonly vectors: Float32Array[];
  readonly promptTokens: number;
  readonly totalTokens: number;
  /** The model the server says it used. */
  readonly model?: string;
  readonly rateLimit?: RateLimitHints;
}

/**
 * One embeddings request, no retries and no rate limiting: the OpenAI-compatible
 * HTTP client, or the in-process offline embedder. Throws `EndpointError`s.
 */
export interface EmbeddingsTransport {
  /** Base URL shown in usage.json (never a key); `offline` for the in-process embedder. */
  readonly endpoint: string;
  readonly model: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbeddingsResponse>;
  listModels(signal?: AbortSignal): Promise<string[]>;
}

/** Result of embedding one batch after retries and splitting. */
export interface BatchEmbedding {
  /** Aligned with the inputs; undefined where the input was refused. */
  readonly vectors: (Float32Array | undefined)[];
  /** Inputs the endpoint refused even alone (e.g. too long), with the server's reason. */
  readonly rejected: { readonly index: number; readonly reason: string }[];
}

/**
 * The whole embedding stage for one batch: rate limiting, retries, splitting of
 * refused batches. Throws only when the job must fail (auth, unknown model,
 * endpoint down past retries).
 */
export interface BatchEmbedder {
  /** Embeds one batch; `call` says what the caller needs to know or decide of it. */
  embedBatch(texts: readonly string[], signal?: AbortSignal, call?: BatchCall): Promise<BatchEmbedding>;
  readonly requests: RequestStats;
  readonly tokens: TokenStats;
  /** Most inputs per request the endpoint has shown it takes after refusing more (413); undefined until then. */
  readonly maxInputs?: number;
  /**
   * Resolves when a batch handed over now would go without queueing behind
   * others (nothing waits for the rate limiter, a concurrency slot is free):
   * the moment to send a batch that is not full yet. @default always
   */
  whenIdle?(): Promise<void>;
}

/** What a caller of `embedBatch` asks of one call beside the texts. */
export interface BatchCall {
  /**
   * Charged with every attempt and token of this call as they happen (also
   * when it fails), so a caller that shares the embedder knows what its own
   * calls cost.
   */
  readonly usage?: CallUsage;
  /**
   * Once aborted, no attempt of this call starts: one waiting for the rate
   * limiter (or to be retried) fails with `JobStoppedError`. An attempt
   * already sent runs on (until `signal`): its answer is paid work to keep.
   */
  readonly stopSending?: AbortSignal;
}

/** What some calls of an embedder consumed: usage.json's `requests` and `tokens`. */
export interface CallUsage {
  readonly requests: RequestStats;
  readonly tokens: TokenStats;
}
