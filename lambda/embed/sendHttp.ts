/**
 * One HTTP exchange, body read whole, as bytes.
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
}

/** What came back: any status, the headers, the whole body (decompressed). */
export interface HttpReply {
  readonly status: number;
  readonly headers: HeaderSource;
  readonly body: Buffer;
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

/** The most a compressed answer may expand to: far above any real answer, far below a Lambda's memory. */
const MAX_DECOMPRESSED_BYTES = 512 * 1_048_576;

/**
 * We ask for no compression; a server that compresses anyway is still read.
 * @throws {InvalidResponseError} for a body that does not decompress (or expands past the cap).
 */
function decompressed(body: Buffer, encoding: string | undefined, status: number): Buffer {
  const name = encoding?.trim().toLowerCase();
  const options = { maxOutputLength: MAX_DECOMPRESSED_BYTES };
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

    const request = client.request(url, { method: exchange.method, headers }, (message) => {
      response = message;
      const chunks: Buffer[] = [];
      let length = 0;
      message.on('data', (chunk: Buffer) => {
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
        let body: Buffer;
        try {
          body = decompressed(
            Buffer.concat(chunks, length),
            message.headers['content-encoding'],
            message.statusCode ?? 0,
          );
        } catch (error) {
          fail(error);
          return;
        }
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve({ status: message.statusCode ?? 0, headers: headerSource(message), body });
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
    // Read under the same signal: a server that stalls mid-body is cut off too.
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body };
  };
}
