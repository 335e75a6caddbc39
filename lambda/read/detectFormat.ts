import { InputError } from '../errors.ts';
import type { InputFormat } from '../types.ts';

/** What a file name says about its content. */
export interface DetectedFormat {
  readonly format: InputFormat;
  /** The name ends in `.gz`: the bytes are gzip-compressed. */
  readonly gzip: boolean;
}

const SUFFIXES: readonly (readonly [suffix: string, format: InputFormat])[] = [
  ['.csv', 'csv'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
];

function match(uri: string): DetectedFormat | undefined {
  let name = uri.toLowerCase();
  const gzip = name.endsWith('.gz');
  if (gzip) name = name.slice(0, -'.gz'.length);
  for (const [suffix, format] of SUFFIXES) {
    if (name.endsWith(suffix)) return { format, gzip };
  }
  return undefined;
}

/**
 * Tells the input format from a file name or URI: `.csv`, `.jsonl` or
 * `.ndjson`, each optionally followed by `.gz`, in any letter case.
 *
 * @throws {InputError} when the suffix is none of these; the message names the file and the supported suffixes.
 */
export function detectFormat(uri: string): DetectedFormat {
  const detected = match(uri);
  if (detected === undefined) {
    throw new InputError(
      `${uri}: unsupported input file; expected a name ending in .csv, .jsonl or .ndjson, optionally followed by .gz`,
    );
  }
  return detected;
}

/** Whether `detectFormat` accepts this name; for filtering a prefix listing without try/catch. */
export function isSupportedInput(uri: string): boolean {
  return match(uri) !== undefined;
}
