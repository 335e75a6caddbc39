/**
 * The library's door for what TypeScript cannot promise at run time (a
 * caller in plain JavaScript, options parsed from a config file): each option
 * of the wrong type fails with a `ConfigError` that names it, before anything
 * runs, instead of a `TypeError` from deep inside.
 */
import { ConfigError } from '../errors.ts';
import type { EmbedOptions } from './embedFiles.ts';

const STRINGS = [
  'out',
  'cwd',
  'baseUrl',
  'apiKey',
  'model',
  'textColumn',
  'idColumn',
  'delimiter',
  'encoding',
] as const satisfies readonly (keyof EmbedOptions)[];
const BOOLEANS = ['includeText', 'full'] as const satisfies readonly (keyof EmbedOptions)[];
const CALLBACKS = [
  'onProgress',
  'onFileEnd',
  'onNotice',
  'onRetry',
] as const satisfies readonly (keyof EmbedOptions)[];

/** @throws {ConfigError} naming the first option of the wrong type (never showing `apiKey`'s value). */
export function checkEmbedOptions(options: EmbedOptions): void {
  const given = options as Readonly<Record<string, unknown>>;
  for (const name of STRINGS) expect(name, given[name], 'string', 'a string');
  for (const name of BOOLEANS) expect(name, given[name], 'boolean', 'true or false');
  for (const name of CALLBACKS) expect(name, given[name], 'function', 'a function');
  const grace = options.graceMs;
  if (grace !== undefined && !(typeof grace === 'number' && Number.isFinite(grace) && grace >= 0))
    throw new ConfigError(
      `Expected \`graceMs\` to be a number of milliseconds (0 or more), got ${String(grace)}`,
    );
  const maxRejected = given.maxRejected;
  if (maxRejected !== undefined && typeof maxRejected !== 'number' && typeof maxRejected !== 'string')
    throw new ConfigError(
      `Expected \`maxRejected\` to be a number of records or a percentage string ('5%'), got ${typeof maxRejected}`,
    );
  const signal = given.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new ConfigError('Expected `signal` to be an AbortSignal');
}

function expect(name: string, value: unknown, type: string, what: string): void {
  if (value === undefined || typeof value === type) return;
  // The key's value is never shown, whatever it is.
  const shown = name === 'apiKey' ? typeof value : (JSON.stringify(value) ?? typeof value);
  throw new ConfigError(`Expected \`${name}\` to be ${what}, got ${shown}`);
}
