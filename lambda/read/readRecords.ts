import type { ReadResult } from '../types.ts';
import { gunzipChunks } from './gunzipChunks.ts';
import { readCsvRecords } from './readCsvRecords.ts';
import { readJsonlRecords } from './readJsonlRecords.ts';
import { type ReaderOptions, resolveReaderOptions } from './resolveReaderOptions.ts';
import { stripBom } from './stripBom.ts';

export type { ReaderOptions } from './resolveReaderOptions.ts';

/**
 * Streams the records of a CSV or JSONL input, gzip-compressed or not: exactly
 * one `ReadResult` per record, in file order. Memory stays flat whatever the
 * file size. A bad record is yielded as `{ ok: false, rejected }` and reading
 * carries on; only an input that cannot be read at all throws.
 *
 * Options are checked when this is called; the input is read as the generator is iterated.
 *
 * @param body The file's bytes, in chunks of any size (e.g. `fs.createReadStream(path)`, an S3 body).
 * @throws {ConfigError} at once, for a bad option.
 * @throws {InputError} while iterating, before any record, for a CSV header without the
 *   text column or a kept column; later, for a corrupt gzip stream or unreadable CSV.
 */
export function readRecords(
  body: AsyncIterable<Uint8Array>,
  options: ReaderOptions,
): AsyncGenerator<ReadResult> {
  const resolved = resolveReaderOptions(options);
  const bytes = stripBom(resolved.gzip ? gunzipChunks(body, resolved.source) : body, resolved.position);
  return resolved.format === 'csv' ? readCsvRecords(bytes, resolved) : readJsonlRecords(bytes, resolved);
}
