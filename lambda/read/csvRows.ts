import { type Options, parse } from 'csv-parse/sync';
import type { CsvDelimiter } from './CsvDelimiter.ts';
import { type ScannedCsvRow, scanCsvRows } from './scanCsvRows.ts';

/**
 * The options the reader has always read CSV with (plus the delimiter); csv-parse
 * still reads the rows `scanCsvRows` leaves to it.
 */
export const CSV_PARSE_OPTIONS: Options = {
  encoding: null,
  // Mixed line endings are common in files edited on several systems.
  record_delimiter: ['\r\n', '\n', '\r'],
  // Lenient: a stray quote inside a field is kept as text rather than ending the job.
  relax_quotes: true,
  // Ragged rows are rejected one by one by the reader, with their record number.
  relax_column_count: true,
};

/**
 * CSV that cannot be read past at all. `problem` starts with the name csv-parse
 * gives the same failure; the reader adds the file and the line.
 */
export class UnreadableCsvError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'UnreadableCsvError';
  }
}

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function tooLong(maxRowBytes: number): UnreadableCsvError {
  return new UnreadableCsvError(`Max Record Size: a row over ${maxRowBytes} bytes (a quote left open?)`);
}

/**
 * The rows of a CSV byte stream (BOM already stripped), in batches, each row
 * as its fields' raw bytes, exactly as csv-parse would return them with the
 * reader's options (`CSV_PARSE_OPTIONS` with `delimiter`).
 *
 * `scanCsvRows` splits and unquotes the rows itself, about five times
 * cheaper than csv-parse; the rare row with text after a closing quote goes
 * to csv-parse alone. Memory is bounded by the longest row: a row is rescanned only once
 * the bytes pending for it have doubled, and one over `maxRowBytes` fails.
 *
 * With `ends`, each yielded batch comes with the stream offset just past each
 * of its rows' line breaks, in `ends` (refilled for every batch).
 *
 * @throws {UnreadableCsvError} after yielding every row before the one at fault:
 *   a row over `maxRowBytes`, or a quote still open at the end.
 */
export async function* csvRows(
  chunks: AsyncIterable<Uint8Array>,
  maxRowBytes: number,
  delimiter: CsvDelimiter = ',',
  ends?: number[],
): AsyncGenerator<Buffer[][]> {
  const separator = delimiter.charCodeAt(0);
  const parseOptions: Options = { ...CSV_PARSE_OPTIONS, delimiter };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Offset in the stream of `pending`'s first byte.
  let base = 0;
  // Scan again once this many bytes are pending; a long row waits until it has doubled.
  let scanAt = 0;

  function* take(final: boolean): Generator<Buffer[][], void> {
    const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const scanned: ScannedCsvRow[] = [];
    const scan = scanCsvRows(bytes, final, scanned, separator);
    const batch: Buffer[][] = [];
    if (ends !== undefined) ends.length = 0;
    for (const row of scanned) {
      if (row.end - row.start > maxRowBytes) {
        if (batch.length > 0) yield batch;
        throw tooLong(maxRowBytes);
      }
      if (row.fields !== undefined) {
        batch.push(row.fields);
        ends?.push(base + row.end);
      } else {
        const parsed = parse(bytes.subarray(row.start, row.end), parseOptions) as unknown as Buffer[][];
        batch.push(...parsed);
        for (let i = 0; i < parsed.length; i++) ends?.push(base + row.end);
      }
    }
    if (batch.length > 0) yield batch;
    if (scan.unclosedQuote) {
      throw new UnreadableCsvError('Quote Not Closed: a quoted field is still open at the end of the file');
    }
    base += scan.consumed;
    const rest = bytes.subarray(scan.consumed);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    if (pendingBytes > maxRowBytes) throw tooLong(maxRowBytes);
    scanAt = 2 * pendingBytes;
  }

  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    pending.push(asBuffer(chunk));
    pendingBytes += chunk.length;
    if (pendingBytes >= scanAt || pendingBytes > maxRowBytes) yield* take(false);
  }
  if (pendingBytes > 0) yield* take(true);
}
