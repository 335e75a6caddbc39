import { isUtf8 } from 'node:buffer';
import { CsvError } from 'csv-parse';
import { InputError } from '../errors.ts';
import type { ReadResult } from '../types.ts';
import type { CsvDelimiter } from './CsvDelimiter.ts';
import { csvRows, UnreadableCsvError } from './csvRows.ts';
import { parseCsvRecord } from './parseCsvRecord.ts';
import { type CsvColumns, resolveCsvColumns } from './resolveCsvColumns.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';
import { sniffCsvDelimiter } from './sniffCsvDelimiter.ts';
import { type InputEncoding, invalidBytesReason } from './transcodeToUtf8.ts';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * A row longer than this makes the file unreadable (one stray quote would
 * otherwise make the reader hold the rest of the file), while records between
 * `maxRecordBytes` and the cap are merely rejected.
 */
function rowSizeCap(maxRecordBytes: number): number {
  return Math.max(16 * maxRecordBytes, 64 * 1_048_576);
}

// Counted like the parser's record delimiters: \r\n, \n and \r each end one line.
function countLineBreaks(fields: readonly Buffer[]): number {
  let breaks = 0;
  for (const field of fields) {
    // Native scans first: almost no field holds a line break.
    if (field.indexOf(LF) === -1 && field.indexOf(CR) === -1) continue;
    for (let i = 0; i < field.length; i++) {
      const byte = field[i];
      if (byte === LF) {
        breaks++;
      } else if (byte === CR) {
        breaks++;
        if (field[i + 1] === LF) i++;
      }
    }
  }
  return breaks;
}

// A line with nothing but spaces or tabs arrives as one field; it is not a record.
function isBlankRow(fields: readonly Buffer[]): boolean {
  if (fields.length !== 1) return false;
  const field = fields[0]!;
  for (let i = 0; i < field.length; i++) {
    if (field[i] !== SPACE && field[i] !== TAB) return false;
  }
  return true;
}

/** Bytes read ahead to guess the delimiter: the header line and a few rows after it. */
const SNIFF_BYTES = 16 * 1024;

function decodeHeader(fields: readonly Buffer[], source: string, encoding: InputEncoding): string[] {
  // Every other byte NUL: the ASCII of UTF-16 saved without a byte order mark, read as UTF-8.
  if (encoding === 'utf-8' && fields.some((field) => field.includes(0))) {
    throw new InputError(
      `${source}: the header row holds NUL bytes: UTF-16 without a byte order mark? Name it with --encoding utf-16le (or utf-16be)`,
    );
  }
  return fields.map((field) => {
    if (isUtf8(field)) return field.toString('utf8');
    if (encoding === 'utf-8') {
      throw new InputError(
        `${source}: the header row is not valid UTF-8; for another encoding use --encoding (windows-1252, latin1, utf-16le, utf-16be)`,
      );
    }
    throw new InputError(`${source}: the header row holds ${invalidBytesReason(encoding)}`);
  });
}

/** The first `bytes` (or all there are), and the whole stream again, unchanged. */
async function peek(
  chunks: AsyncIterable<Uint8Array>,
  bytes: number,
): Promise<{ head: Buffer; ended: boolean; all: AsyncGenerator<Uint8Array> }> {
  const iterator = chunks[Symbol.asyncIterator]();
  const taken: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    taken.push(next.value);
    length += next.value.length;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    try {
      yield* taken;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { head: Buffer.concat(taken, length), ended, all: all() };
}

/** The delimiter asked for, or the one the start of the file shows (said on `onNotice` when not `,`). */
async function chooseDelimiter(
  bytes: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
): Promise<{ delimiter: CsvDelimiter; chunks: AsyncIterable<Uint8Array> }> {
  if (options.delimiter !== undefined) return { delimiter: options.delimiter, chunks: bytes };
  // A shard from the middle has no header line to look at; the planner split the header on commas.
  if (options.csvHeader !== undefined) return { delimiter: ',', chunks: bytes };
  const { head, ended, all } = await peek(bytes, SNIFF_BYTES);
  const delimiter = sniffCsvDelimiter(head, ended);
  if (delimiter !== ',') {
    options.onNotice(
      `${options.source}: columns separated by ${JSON.stringify(delimiter)} (seen in the header; --delimiter sets it)`,
    );
  }
  return { delimiter, chunks: all };
}

/**
 * Streams CSV records from UTF-8 bytes (see `transcodeToUtf8`). Fields come as
 * raw bytes (`csvRows`) so each can be checked for invalid UTF-8 instead of
 * being decoded into U+FFFD; lines are counted from the rows' own line breaks.
 * Without `delimiter`, the first 16 KiB choose it (`sniffCsvDelimiter`).
 *
 * @param encoding What the bytes were before they became UTF-8, for the reasons of rejected records.
 * @throws {InputError} for a missing text or kept column, a header that is not
 *   UTF-8, or CSV that cannot be read past (a quote never closed).
 */
export async function* readCsvRecords(
  bytes: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
  encoding: InputEncoding = 'utf-8',
): AsyncGenerator<ReadResult> {
  const { source, recordOffset, lineOffset, maxRecordBytes } = options;
  const invalid = invalidBytesReason(encoding);
  let columns: CsvColumns | undefined =
    options.csvHeader === undefined ? undefined : resolveCsvColumns(options.csvHeader, options);
  if (options.position !== undefined) options.position.header = options.csvHeader;
  const { delimiter, chunks } = await chooseDelimiter(bytes, options);
  if (options.position !== undefined) options.position.delimiter = delimiter;

  const { position } = options;
  const ends: number[] | undefined = position === undefined ? undefined : [];
  let nextLine = 1;
  let record = recordOffset;
  try {
    for await (const rows of csvRows(chunks, rowSizeCap(maxRecordBytes), delimiter, ends)) {
      for (let n = 0; n < rows.length; n++) {
        const fields = rows[n]!;
        const line = nextLine;
        nextLine += 1 + countLineBreaks(fields);
        if (isBlankRow(fields)) continue;
        if (columns === undefined) {
          const header = decodeHeader(fields, source, encoding);
          columns = resolveCsvColumns(header, { ...options, delimiter });
          if (position !== undefined) position.header = header;
          continue;
        }
        record++;
        position?.advance(ends?.[n] ?? 0, nextLine - 1 + lineOffset);
        yield parseCsvRecord(fields, { record, line: line + lineOffset }, columns, maxRecordBytes, invalid);
      }
    }
  } catch (error) {
    if (error instanceof UnreadableCsvError || error instanceof CsvError) {
      throw new InputError(
        `${source}: unreadable CSV: ${error.message}; the row starts on line ${nextLine + lineOffset}`,
        { cause: error },
      );
    }
    throw error;
  }
}
