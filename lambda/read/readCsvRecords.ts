import { isUtf8 } from 'node:buffer';
import { pipeline } from 'node:stream/promises';
import { CsvError, Parser } from 'csv-parse';
import { InputError } from '../errors.ts';
import type { ReadResult } from '../types.ts';
import { parseCsvRecord } from './parseCsvRecord.ts';
import { type CsvColumns, resolveCsvColumns } from './resolveCsvColumns.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';
import { type SkippedLines, skipLeadingLineBreaks } from './skipLeadingLineBreaks.ts';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * csv-parse buffers a field until its closing quote; one stray quote would make
 * it hold the rest of the file. This cap keeps memory bounded: past it the file
 * is unreadable (fatal), while records between `maxRecordBytes` and the cap are
 * merely rejected.
 */
function fieldSizeCap(maxRecordBytes: number): number {
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
 * Streams CSV records with csv-parse. Fields come back as raw bytes
 * (`encoding: null`) so each can be checked for invalid UTF-8 instead of being
 * decoded into U+FFFD. Line numbers are counted here rather than taken from
 * csv-parse's `info`, which costs several object copies per record.
 *
 * @throws {InputError} for a missing text or kept column, a header that is not
 *   UTF-8, or CSV the parser cannot get past (a quote never closed).
 */
export async function* readCsvRecords(
  bytes: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
): AsyncGenerator<ReadResult> {
  const { source, recordOffset, lineOffset, maxRecordBytes } = options;
  const given = options.csvHeader === undefined ? undefined : resolveCsvColumns(options.csvHeader, options);
  let columns: CsvColumns | undefined = given;

  const parser = new Parser({
    encoding: null,
    // Mixed line endings are common in files edited on several systems; the
    // default auto-detection would lock onto the first one it meets.
    record_delimiter: ['\r\n', '\n', '\r'],
    // Lenient: a stray quote inside a field is kept as text rather than ending the job.
    relax_quotes: true,
    // Ragged rows are rejected one by one below, with their record number.
    relax_column_count: true,
    max_record_size: fieldSizeCap(maxRecordBytes),
  });
  const skipped: SkippedLines = { lines: 0 };
  // With a given header, a first row of exactly its width pins csv-parse's
  // expected width (see skipLeadingLineBreaks), even when the first data row is ragged.
  let pinRow = given !== undefined;
  async function* input(): AsyncGenerator<Uint8Array> {
    if (given !== undefined) yield Buffer.from(`${','.repeat(given.names.length - 1)}\n`);
    yield* skipLeadingLineBreaks(bytes, skipped);
  }
  // Errors reach us through the parser's iterator; this promise only must not go unhandled.
  pipeline(input(), parser).catch(() => {});

  let nextLine = 0;
  let record = recordOffset;
  try {
    for await (const row of parser) {
      if (pinRow) {
        pinRow = false;
        continue;
      }
      const fields = row as Buffer[];
      // The skipped count is final once the parser has bytes to make a row from.
      if (nextLine === 0) nextLine = 1 + skipped.lines;
      const line = nextLine;
      nextLine += 1 + countLineBreaks(fields);
      if (isBlankRow(fields)) continue;
      if (columns === undefined) {
        columns = resolveCsvColumns(decodeHeader(fields, source), options);
        continue;
      }
      record++;
      yield parseCsvRecord(fields, { record, line: line + lineOffset }, columns, maxRecordBytes);
    }
  } catch (error) {
    if (error instanceof CsvError) {
      throw new InputError(`${source}: unreadable CSV: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    parser.destroy();
  }
}
