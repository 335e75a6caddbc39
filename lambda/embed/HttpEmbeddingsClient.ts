/**
 * The OpenAI-compatible HTTP transport: one request per call, no retries (the
 * one retry layer is `ResilientEmbedder`), no rate limiting (`RateLimiter`).
 */
import { EncodingRefusedError, InvalidResponseError } from '../errors.ts';
import { bodyText } from './bodyText.ts';
import { decodeEmbeddings } from './decodeEmbeddings.ts';
import { errorFromNetworkFailure, errorFromResponse, redact } from './errorFromResponse.ts';
import { maxAnswerBytes } from './maxAnswerBytes.ts';
import { estimateTokens } from './modelFacts.ts';
import { type HeaderSource, parseDuration } from './parseRetryAfter.ts';
import { type HttpReply, type SendHttp, sendWithFetch, sendWithNodeHttp } from './sendHttp.ts';
import type { EmbeddingsResponse, EmbeddingsTransport, RateLimitHints } from './types.ts';

/** How vectors travel on the wire; decoding accepts both whatever was asked. */
export type EmbeddingEncoding = 'base64' | 'float';

/** Options of {@link HttpEmbeddingsClient}. */
export interface HttpEmbeddingsClientOptions {
  /** Base URL including the version path, e.g. `https://openai.inference.de-txl.ionos.com/v1`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`; no header when undefined (local servers). */
  readonly apiKey?: string;
  /** Model id sent with every request. */
  readonly model: string;
  /** Requested output dimensions (`dimensions` in the request); undefined lets the model decide. */
  readonly dimensions?: number;
  /** Wire encoding asked for; base64 is a quarter of the JSON size. @default 'base64' */
  readonly encoding?: EmbeddingEncoding;
  /** Per-request timeout covering the whole exchange, body included. @default 60_000 */
  readonly timeoutMs?: number;
  /** A fetch to send requests with instead of node:http (tests, custom transports). @default node:http(s) */
  readonly fetch?: typeof fetch;
}

/** Sent with every request: some gateways refuse requests without one. */
const USER_AGENT = 'embed-batch';

/** Default per-request timeout: long enough for a large batch on a slow model. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Cap of a `GET /models` answer: thousands of model ids. */
const MAX_MODELS_BYTES = 8 * 1_048_576;

/** How much of a body that is not JSON is quoted, after redaction. */
const MAX_QUOTED_BODY = 120;

function numberHeader(headers: HeaderSource, name: string): number | undefined {
  const text = headers.get(name)?.trim();
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** `host:port` of a base URL, for "could not reach ..." (never user or password). */
function hostOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    return 'the endpoint';
  }
}

function estimatedUsage(texts: readonly string[]): { promptTokens: number; totalTokens: number } {
  const tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0);
  return { promptTokens: tokens, totalTokens: tokens };
}

/** Reads `x-ratelimit-*` headers (OpenAI's names); undefined when the server sent none. */
export function rateLimitHintsOf(headers: HeaderSource): RateLimitHints | undefined {
  const hints: Record<string, number | undefined> = {
    limitRequests: numberHeader(headers, 'x-ratelimit-limit-requests'),
    remainingRequests: numberHeader(headers, 'x-ratelimit-remaining-requests'),
    resetRequestsMs: parseDuration(headers.get('x-ratelimit-reset-requests')),
    limitTokens: numberHeader(headers, 'x-ratelimit-limit-tokens'),
    remainingTokens: numberHeader(headers, 'x-ratelimit-remaining-tokens'),
    resetTokensMs: parseDuration(headers.get('x-ratelimit-reset-tokens')),
  };
  const present = Object.entries(hints).filter(([, value]) => value !== undefined);
  return present.length === 0 ? undefined : (Object.fromEntries(present) as RateLimitHints);
}

/**
 * Talks to an OpenAI-compatible endpoint: `POST {baseUrl}/embeddings` and
 * `GET {baseUrl}/models`. Every failure is thrown as an `EndpointError` from
 * `errorFromResponse`/`errorFromNetworkFailure`; an abort by the caller's
 * signal is rethrown as the signal's reason. The API key lives in a private
 * field and is redacted from anything a server sends back, before it is cut
 * or quoted. An answer is read up to what its request can need
 * (`maxAnswerBytes`), never whole beyond that. A 400 refusing
 * `encoding_format: "base64"` switches the client to floats for good (the
 * retry of that batch, and every later request, asks for floats).
 */
export class HttpEmbeddingsClient implements EmbeddingsTransport {
  /** The base URL, without trailing slash (usage.json `endpoint`). */
  readonly endpoint: string;
  readonly model: string;
  readonly dimensions?: number;
  readonly timeoutMs: number;
  // Private fields stay out of JSON.stringify, util.inspect and structured logs.
  readonly #apiKey: string | undefined;
  readonly #send: SendHttp;
  readonly #host: string;
  #encoding: EmbeddingEncoding;
  /** The dimension of the last answer, which sizes the cap of the next ones. */
  #learnedDimensions: number | undefined;

  constructor(options: HttpEmbeddingsClientOptions) {
    this.endpoint = options.baseUrl.replace(/\/+$/, '');
    this.model = options.model;
    if (options.dimensions !== undefined) this.dimensions = options.dimensions;
    this.#encoding = options.encoding ?? 'base64';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#host = hostOf(this.endpoint);
    this.#apiKey = options.apiKey === undefined || options.apiKey === '' ? undefined : options.apiKey;
    this.#send = options.fetch === undefined ? sendWithNodeHttp : sendWithFetch(options.fetch);
  }

  /** The wire encoding asked for now: `float` after the endpoint refused base64. */
  get encoding(): EmbeddingEncoding {
    return this.#encoding;
  }

  /** Embeds `texts` in one request; vectors come back in input order. */
  async embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbeddingsResponse> {
    const encoding = this.#encoding;
    const body = JSON.stringify({
      model: this.model,
      input: texts,
      encoding_format: encoding,
      ...(this.dimensions === undefined ? {} : { dimensions: this.dimensions }),
    });
    const maxBodyBytes = maxAnswerBytes(texts.length, this.dimensions ?? this.#learnedDimensions);
    let reply: { text: string; headers: HeaderSource; status: number };
    try {
      reply = await this.#exchange('/embeddings', { method: 'POST', body, encoding, maxBodyBytes }, signal);
    } catch (error) {
      // Remembered for the job: the retry of this batch and every later request ask for floats.
      if (error instanceof EncodingRefusedError) this.#encoding = 'float';
      throw error;
    }
    const { text, headers, status } = reply;

    let decoded: ReturnType<typeof decodeEmbeddings>;
    try {
      decoded = decodeEmbeddings(JSON.parse(text), {
        count: texts.length,
        dimensions: this.dimensions,
        secrets: this.#secrets,
      });
    } catch (error) {
      throw this.#invalid(error, status, text);
    }
    this.#learnedDimensions = decoded.vectors[0]?.length ?? this.#learnedDimensions;
    // Servers that omit `usage` (some TEI and proxy builds) still cost tokens: we
    // count the conservative estimate instead, so usage.json is never zero.
    const usage = decoded.usage ?? estimatedUsage(texts);
    const rateLimit = rateLimitHintsOf(headers);
    return {
      vectors: decoded.vectors,
      promptTokens: usage.promptTokens,
      totalTokens: usage.totalTokens,
      ...(decoded.model === undefined ? {} : { model: decoded.model }),
      ...(rateLimit === undefined ? {} : { rateLimit }),
    };
  }

  /** The ids of the models the endpoint serves (`GET /models`). */
  async listModels(signal?: AbortSignal): Promise<string[]> {
    const { text, status } = await this.#exchange(
      '/models',
      { method: 'GET', maxBodyBytes: MAX_MODELS_BYTES },
      signal,
    );
    let data: unknown;
    try {
      data = (JSON.parse(text) as { data?: unknown } | null)?.data;
    } catch (error) {
      throw this.#invalid(error, status, text);
    }
    if (!Array.isArray(data)) {
      throw new InvalidResponseError('the endpoint sent an invalid models response: it has no `data` array', {
        status,
      });
    }
    return (
      data
        .map((item: unknown) =>
          typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : item,
        )
        .filter((id): id is string => typeof id === 'string')
        // Printed by `embed-batch models`: server text like any other.
        .map((id) => redact(id, this.#secrets))
    );
  }

  /** One request with timeout; resolves with the 2xx body text, throws mapped errors otherwise. */
  async #exchange(
    path: string,
    init: { method: string; body?: string; encoding?: EmbeddingEncoding; maxBodyBytes: number },
    signal: AbortSignal | undefined,
  ): Promise<{ text: string; headers: HeaderSource; status: number }> {
    signal?.throwIfAborted();
    // Timeout and caller's signal linked by hand, cleaned up in `finally`: no
    // timer or listener outlives the request (AbortSignal.any leaks in some Node 20 releases).
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no answer within ${this.timeoutMs} ms`, 'TimeoutError')),
      this.timeoutMs,
    );
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': USER_AGENT };
    if (init.body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.#apiKey !== undefined) headers.Authorization = `Bearer ${this.#apiKey}`;
    const secrets = this.#secrets;

    let reply: HttpReply;
    try {
      // The timeout covers the body too: a server that stalls mid-body times out.
      reply = await this.#send({
        url: `${this.endpoint}${path}`,
        method: init.method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: controller.signal,
        maxBodyBytes: init.maxBodyBytes,
      });
    } catch (error) {
      // The caller gave up (job aborted): not an endpoint failure, nothing to retry.
      if (signal?.aborted) throw signal.reason;
      throw errorFromNetworkFailure(error, { timeoutMs: this.timeoutMs, secrets, host: this.#host });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    const text = bodyText(reply.body);
    if (reply.status < 200 || reply.status > 299) {
      throw errorFromResponse({
        status: reply.status,
        headers: reply.headers,
        body: text,
        ...(path === '/embeddings' ? { model: this.model } : {}),
        ...(init.encoding === undefined ? {} : { encoding: init.encoding }),
        secrets,
      });
    }
    return { text, headers: reply.headers, status: reply.status };
  }

  get #secrets(): string[] {
    return this.#apiKey === undefined ? [] : [this.#apiKey];
  }

  #invalid(error: unknown, status: number, text: string): InvalidResponseError {
    const secrets = this.#secrets;
    if (error instanceof SyntaxError) {
      // Neither JSON.parse's message nor a cause: both quote the body unredacted. Our own quote
      // is redacted first (a generous stretch of it), then cut.
      const start = redact(text.slice(0, 16 * MAX_QUOTED_BODY), secrets)
        .replace(/\s+/g, ' ')
        .trim();
      const quote = start.length > MAX_QUOTED_BODY ? `${start.slice(0, MAX_QUOTED_BODY - 1)}…` : start;
      return new InvalidResponseError(
        `the endpoint sent a body that is not JSON (HTTP ${status}, ${text.length} characters): ${JSON.stringify(quote)}`,
        { status },
      );
    }
    const why = error instanceof Error ? error.message : String(error);
    // Rebuilt with the status so usage.json counts the attempt under its HTTP status, not "network".
    return new InvalidResponseError(redact(why, secrets), { status }, { cause: error });
  }
}
