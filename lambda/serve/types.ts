/**
 * Public shapes of `serve-local`, the offline OpenAI-compatible endpoint.
 */

/** How a 429 says when to come back. */
export type RetryAfterFormat = 'seconds' | 'date' | 'ms';

/** Options of {@link startLocalServer}; every field is validated at the door. */
export interface LocalServerOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks any free port. @default 0 */
  readonly port?: number;
  /** Vector size; a request's `dimensions` field overrides it for that request. @default 384 */
  readonly dimensions?: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>`, else 401. @default undefined (no auth) */
  readonly apiKey?: string;
  /** Served model ids; a POST naming another model gets 404. @default ['local/feature-hash'] */
  readonly models?: readonly string[];
  /** Fixed latency added to each embeddings answer past the rate limit and key check. @default 0 */
  readonly latencyMs?: number;
  /** Extra latency per input of an embeddings request. @default 0 */
  readonly latencyPerInputMs?: number;
  /** Requests per second over ALL endpoints (token bucket); over it, 429. @default undefined (no limit) */
  readonly rps?: number;
  /** Token bucket size; only together with `rps`. @default max(1, rps) */
  readonly burst?: number;
  /**
   * How a 429 says when to come back: `Retry-After: <whole seconds, at least 1>`,
   * `Retry-After: <HTTP date>` or `retry-after-ms: <ms>`. @default 'seconds'
   */
  readonly retryAfter?: RetryAfterFormat;
  /** More inputs than this in one request: 413 naming the limit. @default undefined (no limit) */
  readonly maxInputs?: number;
  /** One input longer than this many UTF-16 code units: 413 (TEI-like "input too long"). @default undefined */
  readonly maxInputChars?: number;
  /** Ignore `encoding_format: "base64"` and always answer float arrays, like some servers do. @default false */
  readonly floatsOnly?: boolean;
  /**
   * Refuse `encoding_format: "base64"` with a 400 naming the field (vLLM-like
   * validation error), like servers that only speak floats. @default false
   */
  readonly refuseBase64?: boolean;
  /** Answer `data[]` in reverse index order (each `index` still right). @default false */
  readonly reverseOrder?: boolean;
  /**
   * Scripted faults for the first embeddings requests, in order, e.g. `"500x3,reset,503x2,hang"`.
   * See {@link parseFaults} for the grammar. After the script, requests are served normally.
   * @default undefined (no faults)
   */
  readonly faults?: string;
  /** In addition to the script: every Nth embeddings request (1-based) gets this fault. @default undefined */
  readonly faultEvery?: { readonly every: number; readonly kind: string };
  /** Send `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` when `rps` is set. @default false */
  readonly rateLimitHeaders?: boolean;
  /**
   * Do not report requests. The programmatic default is quiet so that tests and
   * benchmarks pay nothing for logging; the `serve-local` command turns it off. @default true
   */
  readonly quiet?: boolean;
  /** Where one line per request goes when not quiet. @default a write to process.stderr */
  readonly logger?: (line: string) => void;
}

/** One `POST /v1/embeddings`, as the server saw it. */
export interface RequestLogEntry {
  /** 1-based embeddings request number, in arrival order (429s included). */
  readonly seq: number;
  /** When the request arrived, in ms since the server started (performance.now() based). */
  readonly receivedAt: number;
  /**
   * The answer: an HTTP status, `'reset'` or `'hang'`; 0 while the answer is
   * still being prepared; 499 when the client went away before the answer.
   */
  readonly status: number | 'reset' | 'hang';
  /** Number of inputs in the body; 0 when the body was not read (429, 401) or not understood. */
  readonly inputs: number;
  /** `model` of the body, when it was a string. */
  readonly model?: string;
  /** `encoding_format` of the body, when it was a string. */
  readonly encoding?: string;
}

/** Running counters over embeddings requests (`GET /v1/models` is not counted). */
export interface LocalServerStats {
  /** Embeddings requests received. */
  readonly requests: number;
  /** Embeddings requests by answer: `"200"`, `"429"`, `"reset"`, `"hang"`, ... */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Inputs received in embeddings requests whose body was read. */
  readonly inputs: number;
  /** Inputs answered with a usable vector (a `wrong-count` or `nan` answer has one fewer, `bad-json` none). */
  readonly embeddedInputs: number;
  /**
   * The largest number of non-429 embeddings requests whose `receivedAt` fall
   * in any window `[t, t + windowMs)`: proof that a client kept to a rate
   * without wall-clock thresholds in tests.
   */
  readonly maxAcceptedInWindow: (windowMs: number) => number;
}

/** A running `serve-local`. */
export interface LocalServer {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Every `POST /v1/embeddings`, in arrival order; the same array, growing. */
  readonly log: readonly RequestLogEntry[];
  /** Counters, live. */
  readonly stats: LocalServerStats;
  /** Stops listening and destroys every socket, hanging ones included. Idempotent. */
  close(): Promise<void>;
}
