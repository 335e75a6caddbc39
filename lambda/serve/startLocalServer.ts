/**
 * `serve-local`: the offline embedder served over the OpenAI protocol
 * (`GET /v1/models`, `POST /v1/embeddings`, float and base64), with a rate
 * limit, latency and scripted faults. It is the endpoint of every test and
 * benchmark, so it is built on node:http alone, answers deterministically, and
 * does as little as it can per request (it shares the CPU with the client).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateTokens } from '../embed/modelFacts.ts';
import { ConfigError } from '../errors.ts';
import { errorBody, type ServeError } from './errorBody.ts';
import { FaultSchedule } from './FaultSchedule.ts';
import { parseEmbeddingsRequest, type RequestRules } from './parseEmbeddingsRequest.ts';
import type { Fault } from './parseFaults.ts';
import { type PendingEntry, RequestLog } from './RequestLog.ts';
import { formatDuration, retryAfterHeader } from './rateLimitHeaders.ts';
import { renderEmbeddings } from './renderEmbeddings.ts';
import { resolveServerOptions } from './resolveServerOptions.ts';
import { TokenBucket } from './TokenBucket.ts';
import type { LocalServer, LocalServerOptions, RequestLogEntry } from './types.ts';

export type { Fault, FaultRun } from './parseFaults.ts';
export { parseFault, parseFaults } from './parseFaults.ts';
export type {
  LocalServer,
  LocalServerOptions,
  LocalServerStats,
  RequestLogEntry,
  RetryAfterFormat,
} from './types.ts';

const MODELS_PATH = '/v1/models';
const EMBEDDINGS_PATH = '/v1/embeddings';
/** Bodies above this are refused with 413 before parsing: far above any sane batch, and it bounds memory. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** How long an injected 429 asks the client to wait. */
const INJECTED_RETRY_AFTER_MS = 1000;
/** Longer than the 5 s default so clients pacing slowly (or waiting out a Retry-After) keep their sockets. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** A URL host a client can connect to, for what the server listens on. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers?: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...JSON_HEADERS, ...headers, 'content-length': String(bytes.length) });
  res.end(bytes);
}

/**
 * Reads the whole body as text; undefined when it is larger than `limit` bytes
 * (the caller answers 413 and closes the connection rather than read it all).
 * Rejects when the client goes away first.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length']) > limit) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks, size).toString()),
    );
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before sending the whole body'));
    });
  });
}

/**
 * Starts `serve-local` and resolves once it listens.
 *
 * Every request first meets the gateway: the rate limit (over all endpoints),
 * then the API key. Embeddings requests past it are counted for the fault
 * script and `faultEvery` in arrival order, their body is read, the latency
 * waited, and then the fault (if any) or the answer is sent. Invalid requests
 * get 400/404/413 with an OpenAI-style error body.
 *
 * @throws ConfigError naming the option when an option is invalid, or when the port is taken.
 */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const config = resolveServerOptions(options);
  const startedAt = performance.now();
  const requestLog = new RequestLog();
  const schedule = new FaultSchedule(config.faults, config.faultEvery);
  const bucket = config.rateLimit && new TokenBucket(config.rateLimit.rps, config.rateLimit.burst);
  const rules: RequestRules = {
    models: new Set(config.models),
    maxInputs: config.maxInputs,
    maxInputChars: config.maxInputChars,
  };
  const created = Math.floor(Date.now() / 1000);
  // The models list never changes: serialise it once.
  const modelsBody = Buffer.from(
    JSON.stringify({
      object: 'list',
      data: config.models.map((id) => ({ id, object: 'model', created, owned_by: 'embed-batch' })),
    }),
  );
  const expectedAuthorization = config.apiKey === undefined ? undefined : `Bearer ${config.apiKey}`;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const report = (
    method: string,
    path: string,
    status: RequestLogEntry['status'],
    since: number,
    entry?: PendingEntry,
  ) => {
    if (config.quiet) return;
    const seq = entry === undefined ? '' : `#${entry.seq} `;
    const inputs = entry === undefined ? '' : ` ${entry.inputs} inputs`;
    config.logger(`${seq}${method} ${path} ${status}${inputs} ${(performance.now() - since).toFixed(1)}ms`);
  };

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const answerError = (
    res: ServerResponse,
    error: ServeError,
    headers: Record<string, string> | undefined,
    done: (status: number) => void,
  ): void => {
    send(res, error.status, errorBody(error), headers);
    done(error.status);
  };

  const injectedError = (status: number, seq: number): ServeError => ({
    status,
    message: `serve-local injected fault: HTTP ${status} for embeddings request #${seq}`,
    code: 'injected_fault',
  });

  const handleEmbeddings = async (
    req: IncomingMessage,
    res: ServerResponse,
    entry: PendingEntry,
    fault: Fault | undefined,
    done: (status: RequestLogEntry['status'], embedded?: number) => void,
  ): Promise<void> => {
    let text: string | undefined;
    try {
      text = await readBody(req, MAX_BODY_BYTES);
    } catch {
      done(499);
      return;
    }
    if (text === undefined) {
      const error = {
        status: 413,
        message: `request body larger than ${MAX_BODY_BYTES} bytes`,
        code: 'payload_too_large',
      };
      answerError(res, error, { connection: 'close' }, done);
      return;
    }
    const parsed = parseEmbeddingsRequest(text, rules);
    const { summary } = parsed;
    requestLog.describe(entry, summary.inputs, summary.model, summary.encoding);

    if (fault === 'hang') {
      // Hold the socket: close() or the client's own timeout ends it.
      done('hang');
      return;
    }
    const latency = config.latencyMs + config.latencyPerInputMs * summary.inputs;
    if (latency > 0) await delay(latency);
    if (closed || res.destroyed || req.socket.destroyed) {
      done(499);
      return;
    }
    if (fault === 'reset') {
      done('reset');
      req.socket.resetAndDestroy();
      return;
    }
    if (typeof fault === 'number') {
      const headers =
        fault === 429
          ? Object.fromEntries([retryAfterHeader(config.retryAfter, INJECTED_RETRY_AFTER_MS)])
          : undefined;
      answerError(res, injectedError(fault, entry.seq), headers, done);
      return;
    }
    if (!parsed.ok) {
      answerError(res, parsed.error, undefined, done);
      return;
    }

    const { request } = parsed;
    if (config.refuseBase64 && request.encoding === 'base64') {
      const error = {
        status: 400,
        message: "1 validation error: body.encoding_format: Input should be 'float'",
        code: 'invalid_encoding_format',
      };
      answerError(res, error, undefined, done);
      return;
    }
    let promptTokens = 0;
    for (const input of request.inputs) promptTokens += estimateTokens(input);
    const rendered = renderEmbeddings({
      inputs: request.inputs,
      model: request.model,
      dimensions: request.dimensions ?? config.dimensions,
      encoding: config.floatsOnly ? 'float' : request.encoding,
      reverseOrder: config.reverseOrder,
      promptTokens,
      fault: fault === 'wrong-count' || fault === 'nan' ? fault : undefined,
    });
    let body = Buffer.from(rendered.body);
    // A complete HTTP answer whose JSON stops halfway, as when a proxy cuts a stream.
    if (fault === 'bad-json') body = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
    send(res, 200, body);
    done(200, fault === 'bad-json' ? 0 : rendered.embedded);
  };

  const server = createServer((req, res) => {
    const since = performance.now();
    const rawUrl = req.url ?? '/';
    const query = rawUrl.indexOf('?');
    const path = query === -1 ? rawUrl : rawUrl.slice(0, query);
    const method = req.method ?? 'GET';
    const entry =
      path === EMBEDDINGS_PATH && method === 'POST' ? requestLog.open(since - startedAt) : undefined;
    const done = (status: RequestLogEntry['status'], embedded = 0): void => {
      if (entry !== undefined) requestLog.finish(entry, status, embedded);
      report(method, path, status, since, entry);
    };
    // Answers the gateway gives without reading the body: drain it so the socket stays reusable.
    const refuse = (error: ServeError, headers?: Record<string, string>): void => {
      req.resume();
      answerError(res, error, headers, done);
    };

    if (bucket !== undefined) {
      const taken = bucket.take();
      if (config.rateLimitHeaders) {
        res.setHeader('x-ratelimit-limit-requests', String(config.rateLimit!.burst));
        res.setHeader('x-ratelimit-remaining-requests', String(taken.accepted ? taken.remaining : 0));
        res.setHeader('x-ratelimit-reset-requests', formatDuration(bucket.msUntilFull()));
      }
      if (!taken.accepted) {
        const { rps, burst } = config.rateLimit!;
        const message = `Rate limit reached: ${rps} requests per second (burst ${burst}); retry in ${Math.ceil(taken.waitMs)} ms`;
        refuse(
          { status: 429, message, code: 'rate_limit_exceeded' },
          Object.fromEntries([retryAfterHeader(config.retryAfter, taken.waitMs)]),
        );
        return;
      }
    }
    if (expectedAuthorization !== undefined && req.headers.authorization !== expectedAuthorization) {
      const message =
        req.headers.authorization === undefined
          ? 'Missing API key: send Authorization: Bearer <key>'
          : 'Incorrect API key provided';
      refuse({ status: 401, message, code: 'invalid_api_key' });
      return;
    }

    if (path === MODELS_PATH) {
      if (method !== 'GET') {
        refuse(
          {
            status: 405,
            message: `${method} is not allowed on ${path}; use GET`,
            code: 'method_not_allowed',
          },
          {
            allow: 'GET',
          },
        );
        return;
      }
      req.resume();
      send(res, 200, modelsBody);
      done(200);
      return;
    }
    if (path === EMBEDDINGS_PATH) {
      if (entry === undefined) {
        refuse(
          {
            status: 405,
            message: `${method} is not allowed on ${path}; use POST`,
            code: 'method_not_allowed',
          },
          {
            allow: 'POST',
          },
        );
        return;
      }
      // Decided on arrival, synchronously: which request gets which fault depends on arrival order only.
      const fault = schedule.next();
      handleEmbeddings(req, res, entry, fault, done).catch(() => {
        send(
          res,
          500,
          errorBody({ status: 500, message: 'serve-local internal error', code: 'internal_error' }),
        );
        done(500);
      });
      return;
    }
    refuse({
      status: 404,
      message: `Unknown path ${path}: serve-local serves ${MODELS_PATH} and ${EMBEDDINGS_PATH}`,
      code: 'not_found',
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${config.host}:${config.port}`;
      const reason =
        error.code === 'EADDRINUSE'
          ? 'the address is in use (try another `port`, or 0 for any free port)'
          : error.message;
      reject(new ConfigError(`serve-local cannot listen on ${where}: ${reason}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(config.port, config.host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(config.host)}:${port}/v1`,
    port,
    log: requestLog.entries,
    stats: requestLog.stats,
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        // Hanging and in-flight requests would keep close() waiting forever.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
