import { DEFAULT_MAX_TOKENS_PER_REQUEST, isIonos, maxInputTokens } from './embed/modelFacts.ts';
import { ConfigError } from './errors.ts';
import { CLI_FLAGS, type OptionNames } from './optionNames.ts';
import type { JobOptions, MaxRejected } from './pipelineTypes.ts';
import { CSV_DELIMITERS, type CsvDelimiter } from './read/CsvDelimiter.ts';
import { keptColumnNames } from './read/keptColumn.ts';
import { INPUT_ENCODINGS, type InputEncoding } from './read/transcodeToUtf8.ts';
import type { OutputFormat } from './types.ts';

/** Inputs per request against IONOS: small enough for a fast answer, large enough for the 5 req/s budget. */
const IONOS_BATCH_SIZE = 128;
const DEFAULT_BATCH_SIZE = 256;
/** Under TEI's 2 MB payload cap, with room for JSON escaping. */
const DEFAULT_BATCH_BYTES = 1_500_000;
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_RECORD_BYTES = 1_048_576;
const FORMATS: readonly OutputFormat[] = ['parquet', 'arrow', 'both'];

/** Words for the delimiters that are awkward to type in a shell. */
const DELIMITER_WORDS: Readonly<Record<string, CsvDelimiter>> = {
  comma: ',',
  semicolon: ';',
  tab: '\t',
  '\\t': '\t',
  pipe: '|',
};

/** Other names of the encodings, as people and tools write them. */
const ENCODING_ALIASES: Readonly<Record<string, InputEncoding>> = {
  utf8: 'utf-8',
  utf16le: 'utf-16le',
  utf16be: 'utf-16be',
  cp1252: 'windows-1252',
  'iso-8859-1': 'latin1',
  'iso8859-1': 'latin1',
  'latin-1': 'latin1',
};

/** What the caller may set; everything else gets its default. */
export type JobOptionsInput = Partial<Omit<JobOptions, 'delimiter' | 'encoding' | 'maxRejected'>> & {
  readonly model: string;
  readonly baseUrl?: string;
  /** `,` `;` `\t` `|`, or `tab`, `comma`, `semicolon`, `pipe`. */
  readonly delimiter?: string;
  /** One of `INPUT_ENCODINGS`, or an alias (`utf8`, `cp1252`, `iso-8859-1`, ...), any case. */
  readonly encoding?: string;
  /** `N` (records) or `P%` (of the records read), or the parsed form. */
  readonly maxRejected?: string | MaxRejected;
};

/**
 * `--delimiter` as the reader takes it.
 * @param name What the user set, for the message. @default '--delimiter'
 */
export function parseDelimiter(value: string, name = '--delimiter'): CsvDelimiter {
  const delimiter = DELIMITER_WORDS[value.toLowerCase()] ?? value;
  if (!(CSV_DELIMITERS as readonly string[]).includes(delimiter)) {
    throw new ConfigError(
      `Expected \`${name}\` to be one of , ; tab | (or comma, semicolon, pipe), got ${JSON.stringify(value)}`,
    );
  }
  return delimiter as CsvDelimiter;
}

/**
 * `--encoding` as the reader takes it.
 * @param name What the user set, for the message. @default '--encoding'
 */
export function parseEncoding(value: string, name = '--encoding'): InputEncoding {
  const lower = value.trim().toLowerCase();
  const encoding = ENCODING_ALIASES[lower] ?? lower;
  if (!(INPUT_ENCODINGS as readonly string[]).includes(encoding)) {
    throw new ConfigError(
      `Expected \`${name}\` to be one of ${INPUT_ENCODINGS.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return encoding as InputEncoding;
}

/**
 * `--max-rejected N` (a count) or `P%` (a share of the records read, 0 to 100).
 * @param name What the user set, for the message. @default '--max-rejected'
 */
export function parseMaxRejected(value: string | MaxRejected, name = CLI_FLAGS.maxRejected): MaxRejected {
  if (typeof value !== 'string') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
  const number = match ? Number(match[1]) : Number.NaN;
  if (match?.[2] === '%' && number <= 100) return { percent: number };
  if (match?.[2] === '' && Number.isSafeInteger(number)) return { count: number };
  throw new ConfigError(
    `Expected \`${name}\` to be a number of records (e.g. 10) or a percentage up to 100% (e.g. 5%), got ${JSON.stringify(value)}`,
  );
}

/**
 * Whether a finished job's rejections exceed `--max-rejected`; undefined when
 * within it, else the one-line reason (for stderr and the exit status).
 * @param name What the user set, for the message. @default '--max-rejected'
 */
export function exceedsMaxRejected(
  limit: MaxRejected | undefined,
  rows: { readonly read: number; readonly rejected: number },
  name = CLI_FLAGS.maxRejected,
): string | undefined {
  if (limit === undefined || rows.rejected === 0) return undefined;
  if ('count' in limit) {
    if (rows.rejected <= limit.count) return undefined;
    return `${rows.rejected} of ${rows.read} records rejected, over ${name} ${limit.count}`;
  }
  const share = (100 * rows.rejected) / rows.read;
  if (share <= limit.percent) return undefined;
  return `${rows.rejected} of ${rows.read} records rejected (${share.toFixed(1)}%), over ${name} ${limit.percent}%`;
}

/**
 * Seconds between checkpoints, as `--checkpoint-seconds` or `checkpointSeconds`
 * gives them, in the milliseconds the job takes; checked here, in the unit the
 * user wrote.
 */
export function checkpointIntervalMs(
  seconds: number | undefined,
  names: OptionNames = CLI_FLAGS,
): number | undefined {
  if (seconds === undefined) return undefined;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0.001)
    throw new ConfigError(
      `Expected \`${names.checkpointSeconds}\` to be a number of seconds (at least 0.001), got ${String(seconds)}`,
    );
  return Math.round(seconds * 1000);
}

/**
 * Applies defaults in one place and validates at the door; messages name the
 * setting as the caller knows it: the CLI's flag (the default) or the
 * library's option (`API_OPTIONS`).
 */
export function resolveJobOptions(input: JobOptionsInput, names: OptionNames = CLI_FLAGS): JobOptions {
  if (
    input.keepColumns !== undefined &&
    (!Array.isArray(input.keepColumns) || input.keepColumns.some((c) => typeof c !== 'string'))
  )
    throw new ConfigError(
      `Expected \`${names.keepColumns}\` to be a list of column names, got ${JSON.stringify(input.keepColumns)}`,
    );
  const batchSize =
    input.batchSize ?? (input.baseUrl && isIonos(input.baseUrl) ? IONOS_BATCH_SIZE : DEFAULT_BATCH_SIZE);
  const options: JobOptions = {
    textColumn: input.textColumn ?? 'text',
    idColumn: input.idColumn ?? 'id',
    keepColumns: input.keepColumns ?? [],
    format: input.format ?? 'parquet',
    includeText: input.includeText ?? true,
    dimensions: input.dimensions,
    batchSize,
    // Room for at least one input of the model's full length per request.
    maxBatchTokens:
      input.maxBatchTokens ?? Math.max(DEFAULT_MAX_TOKENS_PER_REQUEST, maxInputTokens(input.model)),
    maxBatchBytes: input.maxBatchBytes ?? DEFAULT_BATCH_BYTES,
    concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
    rowsPerPart: input.rowsPerPart,
    maxRecordBytes: input.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    full: input.full ?? false,
    checkpointIntervalMs: input.checkpointIntervalMs,
    requireIdColumn: input.requireIdColumn ?? false,
    delimiter: input.delimiter === undefined ? undefined : parseDelimiter(input.delimiter, names.delimiter),
    encoding: input.encoding === undefined ? undefined : parseEncoding(input.encoding, names.encoding),
    maxRejected:
      input.maxRejected === undefined ? undefined : parseMaxRejected(input.maxRejected, names.maxRejected),
  };
  positiveInteger(options.batchSize, names.batchSize);
  positiveInteger(options.maxBatchTokens, names.maxBatchTokens);
  positiveInteger(options.maxBatchBytes, names.maxBatchBytes);
  positiveInteger(options.concurrency, names.concurrency);
  positiveInteger(options.maxRecordBytes, names.maxRecordBytes);
  if (options.rowsPerPart !== undefined) positiveInteger(options.rowsPerPart, names.rowsPerPart);
  if (options.checkpointIntervalMs !== undefined)
    checkpointIntervalMs(options.checkpointIntervalMs / 1000, names);
  if (options.dimensions !== undefined) positiveInteger(options.dimensions, names.dimensions);
  if (!FORMATS.includes(options.format)) {
    throw new ConfigError(
      `Expected \`${names.format}\` to be one of ${FORMATS.join(', ')}, got ${options.format}`,
    );
  }
  for (const [name, value] of [
    [names.textColumn, options.textColumn],
    [names.idColumn, options.idColumn],
  ] as const) {
    if (value.trim() === '')
      throw new ConfigError(`Expected \`${name}\` to be a column name, got an empty string`);
  }
  const kept = keptColumnNames(options.keepColumns);
  if (kept.includes(options.textColumn) || kept.includes(options.idColumn)) {
    throw new ConfigError(`Expected \`${names.keepColumns}\` not to repeat the text or id column`);
  }
  return options;
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`Expected \`${name}\` to be a positive integer, got ${value}`);
  }
}
