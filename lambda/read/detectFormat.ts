import { InputError } from '../errors.ts';
import type { InputFormat } from '../types.ts';
import type { CsvDelimiter } from './CsvDelimiter.ts';

/** What a file name says about its content. */
export interface DetectedFormat {
  readonly format: InputFormat;
  /** The name ends in `.gz`: the bytes are gzip-compressed. */
  readonly gzip: boolean;
  /** `.tsv`: tab-separated. Absent when the name does not say (a `.csv` is sniffed). */
  readonly delimiter?: CsvDelimiter;
}

const SUFFIXES: readonly (readonly [suffix: string, format: InputFormat, delimiter?: CsvDelimiter])[] = [
  ['.csv', 'csv'],
  ['.tsv', 'csv', '\t'],
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
];

/** The suffixes `detectFormat` accepts, for messages: `.csv, .tsv, .jsonl or .ndjson`. */
export const SUPPORTED_SUFFIXES = '.csv, .tsv, .jsonl or .ndjson';

function match(uri: string): DetectedFormat | undefined {
  let name = uri.toLowerCase();
  const gzip = name.endsWith('.gz');
  if (gzip) name = name.slice(0, -'.gz'.length);
  for (const [suffix, format, delimiter] of SUFFIXES) {
    if (name.endsWith(suffix))
      return delimiter === undefined ? { format, gzip } : { format, gzip, delimiter };
  }
  return undefined;
}

/**
 * Tells the input format from a file name or URI: `.csv`, `.tsv` (CSV
 * separated by tabs), `.jsonl` or `.ndjson`, each optionally followed by
 * `.gz`, in any letter case.
 *
 * @throws {InputError} when the suffix is none of these; the message names the file and the supported suffixes.
 */
export function detectFormat(uri: string): DetectedFormat {
  const detected = match(uri);
  if (detected === undefined) {
    throw new InputError(
      `${uri}: unsupported input file; expected a name ending in ${SUPPORTED_SUFFIXES}, optionally followed by .gz`,
    );
  }
  return detected;
}

/** Whether `detectFormat` accepts this name; for filtering a prefix listing without try/catch. */
export function isSupportedInput(uri: string): boolean {
  return match(uri) !== undefined;
}
