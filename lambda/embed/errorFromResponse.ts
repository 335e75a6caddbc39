/**
 * The one place that turns a failed HTTP exchange into an error class from
 * `lambda/errors.ts`. Callers decide what to do from the class and its
 * `retryable` property, never from status codes.
 */
import {
  AuthenticationError,
  BadRequestError,
  EncodingRefusedError,
  EndpointError,
  ModelNotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  TransientEndpointError,
  UnreachableEndpointError,
} from '../errors.ts';
import { type HeaderSource, parseRetryAfter } from './parseRetryAfter.ts';
import { redactSecrets } from './redactSecret.ts';

/** A non-2xx answer, as the HTTP client saw it. */
export interface FailedResponse {
  readonly status: number;
  readonly headers: HeaderSource;
  /** The response body as text (may be empty, JSON, plain text or an HTML error page). */
  readonly body: string;
  /** The model the request named; undefined for requests without one (`GET /models`). */
  readonly model?: string;
  /** Strings that must never appear in a message (the API key), in case a server echoes them. */
  readonly secrets?: readonly string[];
  /** Epoch ms that an HTTP-date `Retry-After` is measured from. @default Date.now() */
  readonly now?: number;
  /** The `encoding_format` the request asked for; a refusal of `base64` is an {@link EncodingRefusedError}. */
  readonly encoding?: 'base64' | 'float';
}

/** Longest server message kept on an error: enough to explain, short enough for one stderr line. */
const MAX_SERVER_MESSAGE = 300;

// 400/422 answers that are really "your batch is too big": split it, do not fail the job.
// Beyond the obvious words: "exceeds", and TEI's "must have less than 512 tokens".
const SIZE_WORDS = /size|length|too long|too large|too many|maximum|limit|exceed|less than \d+ tokens/i;
// Servers that answer an unknown model with 400/422 instead of 404 (vLLM variants, LiteLLM proxies).
const UNKNOWN_MODEL =
  /\bmodel\b[^.]*\b(not found|does not exist|doesn't exist|not exist|unknown|is not served|not available)\b|\b(unknown|invalid|unsupported) model\b/i;

// A 400/422 about the wire encoding we asked for (vLLM: "encoding_format ... Input should be 'float'").
const ENCODING_WORDS = /encoding[_ ]?format|base64/i;

/**
 * Removes secrets (in every echo form, see `redactSecrets`) and bearer tokens
 * from text that came from a server. Always before the text is cut.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  return redactSecrets(text, secrets);
}

/** Longest stretch of a body searched for a message: an error body is read up to 64 KiB anyway. */
const MAX_SEARCHED = 65_536;

function shorten(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_SERVER_MESSAGE ? `${oneLine.slice(0, MAX_SERVER_MESSAGE - 1)}…` : oneLine;
}

function messageFromJson(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  // OpenAI: {error: {message}}; TEI: {error, error_type}; FastAPI: {detail: string | [{msg}]}; others: {message}.
  for (const key of ['error', 'message', 'detail', 'msg']) {
    const field = record[key];
    if (Array.isArray(field)) {
      const parts = field.map(messageFromJson).filter((part): part is string => part !== undefined);
      if (parts.length > 0) return parts.join('; ');
    } else {
      const found = messageFromJson(field);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/**
 * The server's own words from an error body, on one line and shortened;
 * undefined when the body says nothing useful.
 */
export function serverMessageOf(body: string, secrets: readonly string[] = []): string | undefined {
  const text = body.slice(0, MAX_SEARCHED).trim();
  if (text === '') return undefined;
  let message: string | undefined;
  try {
    message = messageFromJson(JSON.parse(text));
  } catch {
    // Not JSON: an HTML error page from a proxy says the most in its title.
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
    message = title ?? (text.startsWith('<') ? text.replace(/<[^>]*>/g, ' ') : text);
  }
  if (message === undefined) return undefined;
  const short = shorten(redact(message, secrets));
  return short === '' ? undefined : short;
}

function withServerMessage(message: string, serverMessage: string | undefined): string {
  return serverMessage === undefined ? message : `${message}: ${serverMessage}`;
}

/**
 * Maps a non-2xx answer to its error class:
 * 401/403 -> AuthenticationError, 404 (or a 400/422 naming an unknown model) -> ModelNotFoundError,
 * 413 (or a 400/422 about size or length) -> PayloadTooLargeError, 429 -> RateLimitError,
 * 408/409/425/5xx -> TransientEndpointError, any other 4xx or a redirect with a
 * Location (not followed) -> BadRequestError.
 * `retryAfterMs` is filled from the headers whatever the status (503s send it too).
 */
export function errorFromResponse(response: FailedResponse): EndpointError {
  const { status, model } = response;
  const serverMessage = serverMessageOf(response.body, response.secrets);
  const retryAfterMs = parseRetryAfter(response.headers, response.now ?? Date.now());
  const details = { status, retryAfterMs, serverMessage };

  if (status === 401 || status === 403) {
    // The server's words are kept in `serverMessage` but not in the message: the
    // fix is always the same, and some servers quote the header they refused.
    return new AuthenticationError(
      `the endpoint refused the API key (HTTP ${status}); check EMBEDDINGS_API_KEY / IONOS_API_TOKEN`,
      details,
    );
  }
  if (
    (status === 400 || status === 422) &&
    response.encoding === 'base64' &&
    ENCODING_WORDS.test(serverMessage ?? '')
  ) {
    return new EncodingRefusedError(
      withServerMessage(
        `the endpoint refused encoding_format "base64" (HTTP ${status}); asking for floats from now on`,
        serverMessage,
      ),
      details,
    );
  }
  const sizeComplaint = (status === 400 || status === 422) && SIZE_WORDS.test(serverMessage ?? '');
  const modelComplaint =
    (status === 400 || status === 422) && !sizeComplaint && UNKNOWN_MODEL.test(serverMessage ?? '');
  if (status === 404 || modelComplaint) {
    const what =
      model === undefined
        ? `the endpoint has no such path (HTTP ${status}); check the base URL`
        : `the endpoint does not know the model "${model}" (HTTP ${status}); run \`embed-batch models\` to list the models it serves, and check the base URL`;
    return new ModelNotFoundError(withServerMessage(what, serverMessage), details);
  }
  if (status === 413 || sizeComplaint) {
    return new PayloadTooLargeError(
      withServerMessage(`the endpoint refused the request as too large (HTTP ${status})`, serverMessage),
      details,
    );
  }
  if (status === 429) {
    return new RateLimitError(
      withServerMessage('the endpoint is rate limiting requests (HTTP 429)', serverMessage),
      details,
    );
  }
  if (status === 408 || status === 409 || status === 425 || status >= 500) {
    return new TransientEndpointError(
      withServerMessage(`the endpoint failed (HTTP ${status})`, serverMessage),
      details,
    );
  }
  if (status >= 400) {
    return new BadRequestError(
      withServerMessage(`the endpoint refused the request (HTTP ${status})`, serverMessage),
      details,
    );
  }
  const location = response.headers.get('location')?.trim();
  if (REDIRECTS.has(status) && location) {
    // Not followed (a POST would turn into a GET): the base URL is what to fix,
    // and the new address ends with the path that was asked for.
    const base = location.replace(/\/(?:embeddings|models)\/?(?:[?#].*)?$/, '');
    return new BadRequestError(
      `the endpoint redirects to ${shorten(redact(location, response.secrets))} (HTTP ${status}); use ${shorten(redact(base, response.secrets))} as the base URL`,
      details,
    );
  }
  // Any other 1xx/3xx reaching us means a broken proxy: worth another try.
  return new TransientEndpointError(
    withServerMessage(`the endpoint answered with unexpected HTTP ${status}`, serverMessage),
    details,
  );
}

const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError']);
/** Statuses that send the client elsewhere (with a Location). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ABORT_ERR',
]);

function* causeChain(error: unknown): Generator<{ name?: string; code?: string; message?: string }> {
  let current: unknown = error;
  // Bounded: cause chains can be cyclic in hand-made errors.
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const record = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    yield {
      name: typeof record.name === 'string' ? record.name : undefined,
      code: typeof record.code === 'string' ? record.code : undefined,
      message: typeof record.message === 'string' ? record.message : undefined,
    };
    current = record.cause;
  }
}

function isTimeout(error: unknown): boolean {
  for (const link of causeChain(error)) {
    if ((link.name !== undefined && TIMEOUT_NAMES.has(link.name)) || TIMEOUT_CODES.has(link.code ?? '')) {
      return true;
    }
  }
  return false;
}

/** Options of {@link errorFromNetworkFailure}. */
export interface NetworkFailureOptions {
  /** The client's per-request timeout, named in the message of a timeout. */
  readonly timeoutMs?: number;
  /** Strings that must never appear in a message. */
  readonly secrets?: readonly string[];
  /** The host (and port) the request went to, named when it cannot be reached. */
  readonly host?: string;
}

/** Codes of "nobody is there": retried briefly, then the job fails naming the host. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EAI_NONAME: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * A copy of a failure's cause chain with only name, code and redacted message:
 * node's errors carry server bytes (an HTTP parser error's `rawPacket`) that
 * must not reach a log through `cause`.
 */
function sanitized(error: unknown, secrets: readonly string[] | undefined): Error | undefined {
  const links = [...causeChain(error)];
  let cause: Error | undefined;
  for (const link of links.reverse()) {
    const copy = new Error(redact(link.message ?? '', secrets), cause === undefined ? undefined : { cause });
    copy.name = link.name ?? 'Error';
    if (link.code !== undefined) Object.assign(copy, { code: link.code });
    cause = copy;
  }
  return cause;
}

/**
 * Maps a rejected `fetch` (or body read) to a retryable {@link TransientEndpointError}:
 * timeouts and aborts count under `timeout`, resets and closed sockets
 * (ECONNRESET, socket hang up, UND_ERR_SOCKET) under `network`; a refused
 * connection or an unknown host (ECONNREFUSED, ENOTFOUND, ...) is an
 * {@link UnreachableEndpointError} naming `host`, also under `network`.
 * The cause kept is a redacted copy of the failure's chain (name, code, message).
 * An error that already is an `EndpointError` is returned as it is.
 */
export function errorFromNetworkFailure(error: unknown, options: NetworkFailureOptions = {}): EndpointError {
  if (error instanceof EndpointError) return error;
  const cause = { cause: sanitized(error, options.secrets) };
  if (isTimeout(error)) {
    const within = options.timeoutMs === undefined ? '' : ` within ${options.timeoutMs} ms`;
    return new TransientEndpointError(`the endpoint did not answer${within} (timeout)`, {}, cause);
  }
  // The innermost cause names the real failure ("fetch failed" on top says nothing).
  let detail = '';
  let unreachable: string | undefined;
  for (const link of causeChain(error)) {
    const parts = [link.code, link.message].filter((part) => part !== undefined && part !== '');
    if (parts.length > 0) detail = parts.join(' ');
    if (link.code !== undefined && Object.hasOwn(UNREACHABLE, link.code)) unreachable = link.code;
  }
  if (unreachable !== undefined) {
    const at = options.host === undefined ? '' : ` at ${options.host}`;
    return new UnreachableEndpointError(
      `could not reach the endpoint${at}: ${UNREACHABLE[unreachable]} (${unreachable})`,
      options.host === undefined ? {} : { host: options.host },
      cause,
    );
  }
  const message = detail === '' ? 'network failure' : shorten(redact(detail, options.secrets));
  return new TransientEndpointError(`could not reach the endpoint: ${message}`, {}, cause);
}

/**
 * The usage.json `by_status` key of a failed attempt: the HTTP status as text,
 * `timeout` for timeouts, `network` for other failures to get an answer, and
 * `error` for anything that is not an endpoint error at all (a bug).
 */
export function statusKey(error: unknown): string {
  if (error instanceof EndpointError && error.status !== undefined) return String(error.status);
  if (error instanceof EndpointError) return isTimeout(error.cause) ? 'timeout' : 'network';
  return 'error';
}
