/**
 * `embed-batch serve-local`: starts the offline endpoint from the command line.
 */
import type { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import { OFFLINE_DEFAULT_DIMENSIONS, OFFLINE_MODEL } from '../embed/featureHash.ts';
import { ConfigError } from '../errors.ts';
import { type OptionLabels, resolveServerOptions } from './resolveServerOptions.ts';
import { startLocalServer } from './startLocalServer.ts';
import type { LocalServer, LocalServerOptions, RetryAfterFormat } from './types.ts';

/** Where the command writes and which signals stop it; injectable so tests need no real process. */
export interface ServeLocalIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Emits `SIGINT` / `SIGTERM`. @default process */
  readonly signals: EventEmitter;
}

/** The port the command listens on unless `--port` says otherwise. */
export const SERVE_LOCAL_DEFAULT_PORT = 8080;

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Usage text of `embed-batch serve-local --help`. */
export const SERVE_LOCAL_USAGE = `Usage: embed-batch serve-local [options]

Serves the offline embedder (${OFFLINE_MODEL}: feature hashing; lexical, not semantic)
over the OpenAI protocol: GET /v1/models, POST /v1/embeddings (float and base64).

Options:
  --port N                   port, 0 for any free port (default ${SERVE_LOCAL_DEFAULT_PORT})
  --host HOST                interface (default 127.0.0.1)
  --dimensions N             vector size unless a request asks otherwise (default ${OFFLINE_DEFAULT_DIMENSIONS})
  --api-key KEY              require Authorization: Bearer KEY, else 401
  --model ID                 serve another model id as well (repeatable)
  --latency-ms MS            fixed latency per embeddings request (default 0)
  --latency-per-input-ms MS  extra latency per input (default 0)
  --rps N                    requests per second over all endpoints; over it, 429
  --burst N                  rate-limit bucket size (default max(1, rps))
  --retry-after FORMAT       how a 429 says when to retry: seconds | date | ms (default seconds)
  --max-inputs N             more inputs per request than this: 413
  --max-input-chars N        an input longer than this: 413
  --floats-only              ignore encoding_format "base64", always answer float arrays
  --refuse-base64            answer encoding_format "base64" with a 400 naming the field
  --reverse-order            answer data[] in reverse index order
  --faults SPEC              faults for the first embeddings requests, e.g. 500x3,reset,503x2,hang,
                             wrong-count,nan,bad-json,429 (any 4xx/5xx status; xN repeats)
  --fault-every N:KIND       also give every Nth embeddings request this fault, e.g. 10:503
  --rate-limit-headers       send x-ratelimit-* headers when --rps is set
  --quiet                    no line per request
  -h, --help                 show this help
`;

/** Each option named by its flag in error messages. */
const FLAG_LABELS: OptionLabels = {
  host: '--host',
  port: '--port',
  dimensions: '--dimensions',
  apiKey: '--api-key',
  models: '--model',
  latencyMs: '--latency-ms',
  latencyPerInputMs: '--latency-per-input-ms',
  rps: '--rps',
  burst: '--burst',
  retryAfter: '--retry-after',
  maxInputs: '--max-inputs',
  maxInputChars: '--max-input-chars',
  faults: '--faults',
  faultEvery: '--fault-every',
};

const defaultIo: ServeLocalIo = { stdout: process.stdout, stderr: process.stderr, signals: process };

function readFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        dimensions: { type: 'string' },
        'api-key': { type: 'string' },
        model: { type: 'string', multiple: true },
        'latency-ms': { type: 'string' },
        'latency-per-input-ms': { type: 'string' },
        rps: { type: 'string' },
        burst: { type: 'string' },
        'retry-after': { type: 'string' },
        'max-inputs': { type: 'string' },
        'max-input-chars': { type: 'string' },
        'floats-only': { type: 'boolean' },
        'refuse-base64': { type: 'boolean' },
        'reverse-order': { type: 'boolean' },
        faults: { type: 'string' },
        'fault-every': { type: 'string' },
        'rate-limit-headers': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new ConfigError(`serve-local: ${(error as Error).message} (see --help)`, { cause: error });
  }
}

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(number))
    throw new ConfigError(`Expected \`${flag}\` to be a number, got ${JSON.stringify(value)}`);
  return number;
}

function faultEveryFlag(value: string | undefined): LocalServerOptions['faultEvery'] {
  if (value === undefined) return undefined;
  const colon = value.indexOf(':');
  if (colon === -1) {
    throw new ConfigError(
      `Expected \`--fault-every\` to be N:KIND, e.g. 10:503, got ${JSON.stringify(value)}`,
    );
  }
  const every = numberFlag(value.slice(0, colon), '--fault-every')!;
  return { every, kind: value.slice(colon + 1) };
}

/**
 * Parses `serve-local` flags into server options.
 *
 * @throws ConfigError naming the flag.
 */
export function serveLocalOptions(argv: string[]): LocalServerOptions & { readonly help: boolean } {
  const flags = readFlags(argv);
  const extraModels = flags.model ?? [];
  return {
    help: flags.help ?? false,
    host: flags.host,
    port: numberFlag(flags.port, '--port') ?? SERVE_LOCAL_DEFAULT_PORT,
    dimensions: numberFlag(flags.dimensions, '--dimensions'),
    apiKey: flags['api-key'],
    models: [OFFLINE_MODEL, ...extraModels],
    latencyMs: numberFlag(flags['latency-ms'], '--latency-ms'),
    latencyPerInputMs: numberFlag(flags['latency-per-input-ms'], '--latency-per-input-ms'),
    rps: numberFlag(flags.rps, '--rps'),
    burst: numberFlag(flags.burst, '--burst'),
    retryAfter: flags['retry-after'] as RetryAfterFormat | undefined,
    maxInputs: numberFlag(flags['max-inputs'], '--max-inputs'),
    maxInputChars: numberFlag(flags['max-input-chars'], '--max-input-chars'),
    floatsOnly: flags['floats-only'] ?? false,
    refuseBase64: flags['refuse-base64'] ?? false,
    reverseOrder: flags['reverse-order'] ?? false,
    faults: flags.faults,
    faultEvery: faultEveryFlag(flags['fault-every']),
    rateLimitHeaders: flags['rate-limit-headers'] ?? false,
    quiet: flags.quiet ?? false,
  };
}

/**
 * Runs `embed-batch serve-local [flags]`: starts the server, prints one line
 * `serve-local listening on <url> (model ..., N dims; lexical, not semantic)`
 * to stderr, logs one line per request unless `--quiet`, and closes cleanly on
 * SIGINT/SIGTERM.
 *
 * Resolves once the server listens, to the running server (undefined after
 * `--help`). The open server keeps the process alive; the caller should just
 * return, not call `process.exit()`. Closing the returned server also removes
 * the signal handlers.
 *
 * @throws ConfigError naming the flag when a flag is invalid, or when the port is taken.
 */
export async function serveLocalCommand(
  argv: string[],
  io: ServeLocalIo = defaultIo,
): Promise<LocalServer | undefined> {
  const { help, ...options } = serveLocalOptions(argv);
  if (help) {
    io.stdout.write(SERVE_LOCAL_USAGE);
    return undefined;
  }
  // Validate with flag names first, so messages say `--rps`, not `rps`.
  const resolved = resolveServerOptions(options, FLAG_LABELS);
  const server = await startLocalServer({
    ...options,
    logger: (line) => io.stderr.write(`serve-local ${line}\n`),
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    io.stderr.write(`serve-local stopping (${signal})\n`);
    void close();
  };
  const detach = (): void => {
    for (const signal of STOP_SIGNALS) io.signals.off(signal, onSignal);
  };
  const close = async (): Promise<void> => {
    detach();
    await server.close();
  };
  for (const signal of STOP_SIGNALS) io.signals.on(signal, onSignal);

  const models =
    resolved.models.length === 1 ? `model ${resolved.models[0]}` : `models ${resolved.models.join(', ')}`;
  io.stderr.write(
    `serve-local listening on ${server.url} (${models}, ${resolved.dimensions} dims; lexical, not semantic)\n`,
  );
  return { url: server.url, port: server.port, log: server.log, stats: server.stats, close };
}
