import { ConfigError } from '../errors.ts';
import type { InputFormat } from '../types.ts';
import { CSV_DELIMITERS, type CsvDelimiter } from './CsvDelimiter.ts';
import { type KeptColumn, parseKeptColumn } from './keptColumn.ts';
import type { ReadPosition } from './ReadPosition.ts';
import { INPUT_ENCODINGS, type InputEncoding } from './transcodeToUtf8.ts';

/** Records over this many UTF-8 bytes are rejected unless `maxRecordBytes` says otherwise: 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_576;

/** How to read one input (or one byte-range shard of it). */
export interface ReaderOptions {
  /** File name or URI, used in messages only. */
  readonly source: string;
  readonly format: InputFormat;
  /** Whether the bytes are gzip-compressed (see `detectFormat`). */
  readonly gzip: boolean;
  /** Column (CSV) or field (JSONL) holding the text to embed. @default 'text' */
  readonly textColumn?: string;
  /** Column or field holding the record id; when absent, the id is the record number. @default 'id' */
  readonly idColumn?: string;
  /**
   * The id column must exist (it was asked for by name): a CSV header without it,
   * or a first batch of JSONL records none of which has it, fails the file.
   * @default false (a file without it is numbered)
   */
  readonly requireIdColumn?: boolean;
  /** Columns carried into the output: `name` (a string) or `name:type` (see `parseKeptColumn`). @default [] */
  readonly keepColumns?: readonly string[];
  /**
   * CSV field separator. @default sniffed from the header line (`,` when in doubt);
   * tab for a `.tsv` name is the caller's default (see `detectFormat`).
   */
  readonly delimiter?: CsvDelimiter;
  /** Text encoding of the bytes; a byte order mark at the start wins. @default 'utf-8' */
  readonly encoding?: InputEncoding;
  /** Told what the reader decided on its own (a sniffed delimiter, a BOM's encoding); for stderr. */
  readonly onNotice?: (message: string) => void;
  /** A record over this many UTF-8 bytes is rejected (not fatal). @default 1_048_576 */
  readonly maxRecordBytes?: number;
  /**
   * Column names of a CSV body that has no header row, e.g. a byte-range shard
   * after the first: every row is then data. CSV only.
   * @default undefined (the first row is the header)
   */
  readonly csvHeader?: readonly string[];
  /** Added to every record number (records before this shard). @default 0 */
  readonly recordOffset?: number;
  /** Added to every line number (lines before this shard). @default 0 */
  readonly lineOffset?: number;
  /** Told where each record ends, for checkpoints (see `ReadPosition`). @default none */
  readonly position?: ReadPosition;
}

/** `ReaderOptions` with defaults applied and every value checked. */
export interface ResolvedReaderOptions {
  readonly source: string;
  readonly format: InputFormat;
  readonly gzip: boolean;
  readonly textColumn: string;
  readonly idColumn: string;
  readonly requireIdColumn: boolean;
  readonly keepColumns: readonly string[];
  /** `keepColumns`, each read as its name and type. */
  readonly kept: readonly KeptColumn[];
  /** Undefined: sniff it. */
  readonly delimiter: CsvDelimiter | undefined;
  /** Undefined: UTF-8 unless a BOM says otherwise. */
  readonly encoding: InputEncoding | undefined;
  readonly onNotice: (message: string) => void;
  readonly maxRecordBytes: number;
  readonly csvHeader: readonly string[] | undefined;
  readonly recordOffset: number;
  readonly lineOffset: number;
  readonly position: ReadPosition | undefined;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return typeof value;
  }
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(`Expected \`${name}\` to be a non-empty string, got ${show(value)}`);
  }
  return value;
}

function columnNames(value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new ConfigError(`Expected \`keepColumns\` to be an array of non-empty strings, got ${show(value)}`);
  }
  return [...value];
}

function header(value: unknown): readonly string[] {
  // Empty names are legal in a CSV header (a spreadsheet's unnamed index column).
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string')) {
    throw new ConfigError(`Expected \`csvHeader\` to be a non-empty array of strings, got ${show(value)}`);
  }
  return [...value];
}

function integer(name: string, value: unknown, minimum: 0 | 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    const what = minimum === 1 ? 'a positive integer' : 'a non-negative integer';
    throw new ConfigError(`Expected \`${name}\` to be ${what}, got ${show(value)}`);
  }
  return value;
}

/**
 * Applies the defaults of `ReaderOptions` and validates every value, so that a
 * bad option fails before any byte is read.
 *
 * @throws {ConfigError} naming the option, e.g. ``Expected `maxRecordBytes` to be a positive integer, got 0``.
 */
export function resolveReaderOptions(options: ReaderOptions): ResolvedReaderOptions {
  const format = options.format;
  if (format !== 'csv' && format !== 'jsonl') {
    throw new ConfigError(`Expected \`format\` to be "csv" or "jsonl", got ${show(format)}`);
  }
  if (typeof options.gzip !== 'boolean') {
    throw new ConfigError(`Expected \`gzip\` to be a boolean, got ${show(options.gzip)}`);
  }
  const csvHeader = options.csvHeader === undefined ? undefined : header(options.csvHeader);
  if (csvHeader !== undefined && format !== 'csv') {
    throw new ConfigError(`Expected \`csvHeader\` only with format "csv", got format ${show(format)}`);
  }
  if (options.delimiter !== undefined && !CSV_DELIMITERS.includes(options.delimiter)) {
    throw new ConfigError(
      `Expected \`delimiter\` to be one of ${CSV_DELIMITERS.map(show).join(', ')}, got ${show(options.delimiter)}`,
    );
  }
  if (options.encoding !== undefined && !INPUT_ENCODINGS.includes(options.encoding)) {
    throw new ConfigError(
      `Expected \`encoding\` to be one of ${INPUT_ENCODINGS.join(', ')}, got ${show(options.encoding)}`,
    );
  }
  const keepColumns = columnNames(options.keepColumns ?? []);
  return {
    source: nonEmptyString('source', options.source),
    format,
    gzip: options.gzip,
    textColumn: nonEmptyString('textColumn', options.textColumn ?? 'text'),
    idColumn: nonEmptyString('idColumn', options.idColumn ?? 'id'),
    requireIdColumn: options.requireIdColumn === true,
    keepColumns,
    kept: keepColumns.map(parseKeptColumn),
    delimiter: options.delimiter,
    encoding: options.encoding,
    onNotice: options.onNotice ?? (() => {}),
    maxRecordBytes: integer('maxRecordBytes', options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, 1),
    csvHeader,
    recordOffset: integer('recordOffset', options.recordOffset ?? 0, 0),
    lineOffset: integer('lineOffset', options.lineOffset ?? 0, 0),
    position: options.position,
  };
}
