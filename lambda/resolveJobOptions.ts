import { DEFAULT_MAX_TOKENS_PER_REQUEST, isIonos, maxInputTokens } from './embed/modelFacts.ts';
import { ConfigError } from './errors.ts';
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

/** `--max-rejected N` (a count) or `P%` (a share of the records read, 0 to 100). */
export function parseMaxRejected(value: string | MaxRejected): MaxRejected {
  if (typeof value !== 'string') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
  const number = match ? Number(match[1]) : Number.NaN;
  if (match?.[2] === '%' && number <= 100) return { percent: number };
  if (match?.[2] === '' && Number.isSafeInteger(number)) return { count: number };
  throw new ConfigError(
    `Expected \`--max-rejected\` to be a number of records (e.g. 10) or a percentage up to 100% (e.g. 5%), got ${JSON.stringify(value)}`,
  );
}

/**
 * Whether a finished job's rejections exceed `--max-rejected`; undefined when
 * within it, else the one-line reason (for stderr and the exit status).
 */
export function exceedsMaxRejected(
  limit: MaxRejected | undefined,
  rows: { readonly read: number; readonly rejected: number },
): string | undefined {
  if (limit === undefined || rows.rejected === 0) return undefined;
  if ('count' in limit) {
    if (rows.rejected <= limit.count) return undefined;
    return `${rows.rejected} of ${rows.read} records rejected, over --max-rejected ${limit.count}`;
  }
  const share = (100 * rows.rejected) / rows.read;
  if (share <= limit.percent) return undefined;
  return `${rows.rejected} of ${rows.read} records rejected (${share.toFixed(1)}%), over --max-rejected ${limit.percent}%`;
}

/**
 * Applies defaults in one place and validates at the door; messages name the
 * CLI flag, since that is what a user typed.
 */
export function resolveJobOptions(input: JobOptionsInput): JobOptions {
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
    delimiter: input.delimiter === undefined ? undefined : parseDelimiter(input.delimiter),
    encoding: input.encoding === undefined ? undefined : parseEncoding(input.encoding),
    maxRejected: input.maxRejected === undefined ? undefined : parseMaxRejected(input.maxRejected),
  };
  positiveInteger(options.batchSize, '--batch-size');
  positiveInteger(options.maxBatchTokens, '--batch-tokens');
  positiveInteger(options.maxBatchBytes, '--batch-bytes');
  positiveInteger(options.concurrency, '--concurrency');
  positiveInteger(options.maxRecordBytes, '--max-record-bytes');
  if (options.rowsPerPart !== undefined) positiveInteger(options.rowsPerPart, '--part-rows');
  if (options.checkpointIntervalMs !== undefined)
    positiveInteger(options.checkpointIntervalMs, '--checkpoint-seconds');
  if (options.dimensions !== undefined) positiveInteger(options.dimensions, '--dimensions');
  if (!FORMATS.includes(options.format)) {
    throw new ConfigError(`Expected \`--format\` to be one of ${FORMATS.join(', ')}, got ${options.format}`);
  }
  for (const [flag, value] of [
    ['--text-column', options.textColumn],
    ['--id-column', options.idColumn],
  ] as const) {
    if (value.trim() === '')
      throw new ConfigError(`Expected \`${flag}\` to be a column name, got an empty string`);
  }
  const kept = keptColumnNames(options.keepColumns);
  if (kept.includes(options.textColumn) || kept.includes(options.idColumn)) {
    throw new ConfigError('Expected `--keep-columns` not to repeat the text or id column');
  }
  return options;
}

function positiveInteger(value: number, flag: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`Expected \`${flag}\` to be a positive integer, got ${value}`);
  }
}
