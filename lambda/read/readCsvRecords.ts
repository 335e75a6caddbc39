import { isUtf8 } from 'node:buffer';
import { CsvError } from 'csv-parse';
import { InputError } from '../errors.ts';
import type { ReadResult } from '../types.ts';
import { csvRows, UnreadableCsvError } from './csvRows.ts';
import { parseCsvRecord } from './parseCsvRecord.ts';
import { type CsvColumns, resolveCsvColumns } from './resolveCsvColumns.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';

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

function decodeHeader(fields: readonly Buffer[], source: string): string[] {
  return fields.map((field) => {
    if (!isUtf8(field)) throw new InputError(`${source}: the header row is not valid UTF-8`);
    return field.toString('utf8');
  });
}

/**
 * Streams CSV records. Fields come as raw bytes (`csvRows`) so each can be
 * checked for invalid UTF-8 instead of being decoded into U+FFFD; lines are
 * counted from the rows' own line breaks.
 *
 * @throws {InputError} for a missing text or kept column, a header that is not
 *   UTF-8, or CSV that cannot be read past (a quote never closed).
 */
export async function* readCsvRecords(
  bytes: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
): AsyncGenerator<ReadResult> {
  const { source, recordOffset, lineOffset, maxRecordBytes } = options;
  let columns: CsvColumns | undefined =
    options.csvHeader === undefined ? undefined : resolveCsvColumns(options.csvHeader, options);
  if (options.position !== undefined) options.position.header = options.csvHeader;

  const { position } = options;
  const ends: number[] | undefined = position === undefined ? undefined : [];
  let nextLine = 1;
  let record = recordOffset;
  try {
    for await (const rows of csvRows(bytes, rowSizeCap(maxRecordBytes), ends)) {
      for (let n = 0; n < rows.length; n++) {
        const fields = rows[n]!;
        const line = nextLine;
        nextLine += 1 + countLineBreaks(fields);
        if (isBlankRow(fields)) continue;
        if (columns === undefined) {
          const header = decodeHeader(fields, source);
          columns = resolveCsvColumns(header, options);
          if (position !== undefined) position.header = header;
          continue;
        }
        record++;
        position?.advance(ends?.[n] ?? 0, nextLine - 1 + lineOffset);
        yield parseCsvRecord(fields, { record, line: line + lineOffset }, columns, maxRecordBytes);
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
