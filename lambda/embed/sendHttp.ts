/**
 * One HTTP exchange, body read whole, as bytes, up to a cap: an answer over
 * its cap is never buffered whole (the socket is closed once it is over).
 *
 * Why not `fetch`: at 1024 dimensions an embeddings answer is about 1.4 MB per
 * 256 inputs, and undici's fetch moves it through WHATWG streams and decodes it
 * to a string before anyone parses it. node:http with the keep-alive agent
 * took about half the CPU for the same 250 answers (BENCHMARKS.md). `fetch`
 * stays available for callers that inject one (`sendWithFetch`).
 */
import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { InvalidResponseError } from '../errors.ts';
import type { HeaderSource } from './parseRetryAfter.ts';

/** What to send. The exchange ends, with the signal's reason, when `signal` aborts. */
export interface HttpExchange {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal: AbortSignal;
  /**
   * Most bytes a 2xx answer may have, on the wire and decompressed; a larger
   * one fails the exchange with an {@link InvalidResponseError}.
   * @default DEFAULT_MAX_BODY_BYTES
   */
  readonly maxBodyBytes?: number;
}

/**
 * What came back: any status, the headers, the body (decompressed). A non-2xx
 * body is kept up to {@link MAX_ERROR_BODY_BYTES} only (`truncated` then).
 */
export interface HttpReply {
  readonly status: number;
  readonly headers: HeaderSource;
  readonly body: Buffer;
  /** True when a non-2xx body was longer than {@link MAX_ERROR_BODY_BYTES} and cut there. */
  readonly truncated?: boolean;
}

/** Default {@link HttpExchange.maxBodyBytes}: above any sane answer, far below a Lambda's memory. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1_048_576;

/** Most of an error body kept: its message is in the first few hundred bytes. */
export const MAX_ERROR_BODY_BYTES = 65_536;

function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/** The error of a 2xx answer over its cap; nothing of it is quoted (it is the server's). */
export function answerTooLarge(status: number, maxBytes: number, stated?: number): InvalidResponseError {
  const message =
    stated === undefined
      ? `the endpoint sent an answer larger than the ${mebibytes(maxBytes)} this request can need (HTTP ${status}); not read further`
      : `the endpoint announced an answer of ${mebibytes(stated)} (HTTP ${status}), more than the ${mebibytes(maxBytes)} this request can need; not read`;
  return new InvalidResponseError(message, { status });
}

/** Sends one request; rejects on network failure or abort, never on an HTTP status. */
export type SendHttp = (exchange: HttpExchange) => Promise<HttpReply>;

function headerSource(message: http.IncomingMessage): HeaderSource {
  return {
    get(name: string): string | null {
      const value = message.headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * We ask for no compression; a server that compresses anyway is still read,
 * up to `maxBytes` decompressed.
 * @throws {InvalidResponseError} for a body that does not decompress (or expands past the cap).
 */
function decompressed(body: Buffer, encoding: string | undefined, status: number, maxBytes: number): Buffer {
  const name = encoding?.trim().toLowerCase();
  const options = { maxOutputLength: maxBytes };
  try {
    switch (name) {
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body, options);
      case 'deflate':
        return inflateSync(body, options);
      case 'br':
        return brotliDecompressSync(body, options);
      default:
        return body;
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw answerTooLarge(status, maxBytes);
    const why = error instanceof Error ? error.message : String(error);
    throw new InvalidResponseError(
      `the endpoint sent a ${name} body that does not decompress (HTTP ${status}): ${why}`,
      { status },
      { cause: error },
    );
  }
}

/** node:http or node:https (by the URL's scheme) with Node's global keep-alive agents. */
export const sendWithNodeHttp: SendHttp = (exchange) =>
  new Promise<HttpReply>((resolve, reject) => {
    const { signal } = exchange;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const url = new URL(exchange.url);
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (client === undefined) {
      reject(new TypeError(`unsupported URL scheme ${url.protocol} (http: or https: only)`));
      return;
    }
    const payload = exchange.body === undefined ? undefined : Buffer.from(exchange.body, 'utf8');
    const headers: Record<string, string> = { ...exchange.headers };
    if (payload !== undefined) headers['Content-Length'] = String(payload.length);

    let settled = false;
    let response: http.IncomingMessage | undefined;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request.destroy();
      response?.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(signal.reason);

    const maxAnswer = exchange.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const succeed = (reply: HttpReply): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve(reply);
    };

    const request = client.request(url, { method: exchange.method, headers }, (message) => {
      response = message;
      const status = message.statusCode ?? 0;
      const success = isSuccess(status);
      const maxBytes = success ? maxAnswer : MAX_ERROR_BODY_BYTES;
      const stated = Number(message.headers['content-length']);
      // Refused before a byte is read: a 3 GB answer announced as such is not worth reading.
      if (success && Number.isFinite(stated) && stated > maxBytes) {
        fail(answerTooLarge(status, maxBytes, stated));
        return;
      }
      const chunks: Buffer[] = [];
      let length = 0;
      const finish = (truncated: boolean): void => {
        let body: Buffer;
        try {
          body = decompressed(
            Buffer.concat(chunks, length),
            message.headers['content-encoding'],
            status,
            maxBytes,
          );
        } catch (error) {
          // An error body is only read for its message: one that does not decompress says nothing.
          if (success) {
            fail(error);
            return;
          }
          body = Buffer.alloc(0);
        }
        succeed({ status, headers: headerSource(message), body, ...(truncated ? { truncated } : {}) });
        // The rest is not wanted: close the connection rather than drain it.
        if (truncated) {
          request.destroy();
          message.destroy();
        }
      };
      message.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (length + chunk.length > maxBytes) {
          if (success) {
            fail(answerTooLarge(status, maxBytes));
            return;
          }
          chunks.push(chunk.subarray(0, maxBytes - length));
          length = maxBytes;
          finish(true);
          return;
        }
        chunks.push(chunk);
        length += chunk.length;
      });
      message.on('error', fail);
      // A connection that closes mid-body leaves the message incomplete; 'close' always comes.
      message.on('close', () => {
        if (!message.complete) fail(new Error('the connection closed before the whole body arrived'));
      });
      message.on('end', () => {
        if (settled || !message.complete) return;
        finish(false);
      });
    });
    request.on('error', fail);
    signal.addEventListener('abort', onAbort, { once: true });
    request.end(payload);
  });

/** The same exchange through a `fetch` (one injected by a caller or a test). */
export function sendWithFetch(fetchImpl: typeof fetch): SendHttp {
  return async (exchange) => {
    const response = await fetchImpl(exchange.url, {
      method: exchange.method,
      headers: exchange.headers,
      ...(exchange.body === undefined ? {} : { body: exchange.body }),
      signal: exchange.signal,
      // As node:http: a redirect is an answer to report, not to follow (a POST would turn into a GET).
      redirect: 'manual',
    });
    const success = isSuccess(response.status);
    const maxBytes = success ? (exchange.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES) : MAX_ERROR_BODY_BYTES;
    const stated = Number(response.headers.get('content-length') ?? Number.NaN);
    if (success && Number.isFinite(stated) && stated > maxBytes) {
      await response.body?.cancel();
      throw answerTooLarge(response.status, maxBytes, stated);
    }
    // Read under the same signal (a server that stalls mid-body is cut off too), and only up to the cap.
    const chunks: Uint8Array[] = [];
    let length = 0;
    let truncated = false;
    const reader = response.body?.getReader();
    for (let next = await reader?.read(); next !== undefined && !next.done; next = await reader?.read()) {
      if (length + next.value.length > maxBytes) {
        await reader?.cancel();
        if (success) throw answerTooLarge(response.status, maxBytes);
        chunks.push(next.value.subarray(0, maxBytes - length));
        length = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(next.value);
      length += next.value.length;
    }
    const body = Buffer.concat(chunks, length);
    return { status: response.status, headers: response.headers, body, ...(truncated ? { truncated } : {}) };
  };
}
