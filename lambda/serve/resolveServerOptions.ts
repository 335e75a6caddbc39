/**
 * Defaults and validation of {@link LocalServerOptions}, in one place, so a
 * bad option fails at the door with a message that names it.
 */
import { OFFLINE_DEFAULT_DIMENSIONS, OFFLINE_MODEL } from '../embed/featureHash.ts';
import { ConfigError } from '../errors.ts';
import { MAX_DIMENSIONS } from './parseEmbeddingsRequest.ts';
import { type Fault, type FaultRun, parseFault, parseFaults } from './parseFaults.ts';
import type { LocalServerOptions, RetryAfterFormat } from './types.ts';

/** Options with defaults applied and faults parsed. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly dimensions: number;
  readonly apiKey?: string;
  readonly models: readonly string[];
  readonly latencyMs: number;
  readonly latencyPerInputMs: number;
  readonly rateLimit?: { readonly rps: number; readonly burst: number };
  readonly retryAfter: RetryAfterFormat;
  readonly maxInputs?: number;
  readonly maxInputChars?: number;
  readonly floatsOnly: boolean;
  readonly refuseBase64: boolean;
  readonly reverseOrder: boolean;
  readonly faults: readonly FaultRun[];
  readonly faultEvery?: { readonly every: number; readonly fault: Fault };
  readonly rateLimitHeaders: boolean;
  readonly quiet: boolean;
  readonly logger: (line: string) => void;
}

/** How to name each option in messages: the option itself, or a command-line flag. */
export type OptionLabels = Partial<Record<keyof LocalServerOptions, string>>;

const RETRY_AFTER_FORMATS: readonly RetryAfterFormat[] = ['seconds', 'date', 'ms'];

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function writeToStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Applies defaults and validates every option.
 *
 * @param labels - names to use in messages instead of the option names (the CLI passes its flags).
 * @throws ConfigError naming the option, e.g. ``Expected `rps` to be a positive number, got -1``.
 */
export function resolveServerOptions(
  options: LocalServerOptions = {},
  labels: OptionLabels = {},
): ResolvedServerOptions {
  const name = (key: keyof LocalServerOptions): string => labels[key] ?? key;
  const fail = (key: keyof LocalServerOptions, expected: string, value: unknown): never => {
    throw new ConfigError(`Expected \`${name(key)}\` to be ${expected}, got ${show(value)}`);
  };
  const integer = (
    key: keyof LocalServerOptions,
    min: number,
    max: number,
    expected: string,
  ): number | undefined => {
    const value = options[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      fail(key, expected, value);
    }
    return value as number;
  };
  const nonNegative = (key: keyof LocalServerOptions): number => {
    const value = options[key] ?? 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      fail(key, 'a non-negative number', value);
    }
    return value as number;
  };
  const flag = (key: keyof LocalServerOptions): boolean => {
    const value = options[key] ?? false;
    if (typeof value !== 'boolean') fail(key, 'a boolean', value);
    return value as boolean;
  };

  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.trim() === '') fail('host', 'a non-empty string', host);
  const port = integer('port', 0, 65_535, 'an integer from 0 to 65535') ?? 0;
  const dimensions =
    integer('dimensions', 1, MAX_DIMENSIONS, `an integer from 1 to ${MAX_DIMENSIONS}`) ??
    OFFLINE_DEFAULT_DIMENSIONS;

  const { apiKey } = options;
  if (apiKey !== undefined && (typeof apiKey !== 'string' || apiKey === '')) {
    fail('apiKey', 'a non-empty string', apiKey);
  }

  const models = options.models ?? [OFFLINE_MODEL];
  if (!Array.isArray(models) || models.length === 0) fail('models', 'a non-empty array of model ids', models);
  for (const model of models) {
    if (typeof model !== 'string' || model.trim() === '')
      fail('models', 'an array of non-empty strings', model);
  }

  const latencyMs = nonNegative('latencyMs');
  const latencyPerInputMs = nonNegative('latencyPerInputMs');

  const { rps, burst } = options;
  if (rps !== undefined && (typeof rps !== 'number' || !Number.isFinite(rps) || rps <= 0)) {
    fail('rps', 'a positive number', rps);
  }
  if (burst !== undefined) {
    if (rps === undefined) {
      throw new ConfigError(`Expected \`${name('burst')}\` only together with \`${name('rps')}\``);
    }
    if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1)
      fail('burst', 'a number of at least 1', burst);
  }
  const retryAfter = options.retryAfter ?? 'seconds';
  if (!RETRY_AFTER_FORMATS.includes(retryAfter))
    fail('retryAfter', `one of ${RETRY_AFTER_FORMATS.join(', ')}`, retryAfter);

  const maxInputs = integer('maxInputs', 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  const maxInputChars = integer('maxInputChars', 1, Number.MAX_SAFE_INTEGER, 'a positive integer');

  const faultsSpec = options.faults ?? '';
  if (typeof faultsSpec !== 'string') fail('faults', 'a fault script string', faultsSpec);
  const faults = parseFaults(faultsSpec, name('faults'));

  let faultEvery: ResolvedServerOptions['faultEvery'];
  if (options.faultEvery !== undefined) {
    const { every, kind } = options.faultEvery;
    if (typeof every !== 'number' || !Number.isInteger(every) || every < 1) {
      fail('faultEvery', 'an object whose `every` is a positive integer', every);
    }
    if (typeof kind !== 'string') fail('faultEvery', 'an object whose `kind` is a fault kind', kind);
    faultEvery = { every, fault: parseFault(kind, name('faultEvery')) };
  }

  const quiet = options.quiet ?? true;
  if (typeof quiet !== 'boolean') fail('quiet', 'a boolean', quiet);
  const logger = options.logger ?? writeToStderr;
  if (typeof logger !== 'function') fail('logger', 'a function', logger);

  return {
    host,
    port,
    dimensions,
    apiKey,
    models: [...new Set(models)],
    latencyMs,
    latencyPerInputMs,
    rateLimit: rps === undefined ? undefined : { rps, burst: burst ?? Math.max(1, rps) },
    retryAfter,
    maxInputs,
    maxInputChars,
    floatsOnly: flag('floatsOnly'),
    refuseBase64: flag('refuseBase64'),
    reverseOrder: flag('reverseOrder'),
    faults,
    faultEvery,
    rateLimitHeaders: flag('rateLimitHeaders'),
    quiet,
    logger,
  };
}
