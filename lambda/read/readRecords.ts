import type { ReadResult } from '../types.ts';
import { gunzipChunks } from './gunzipChunks.ts';
import { readCsvRecords } from './readCsvRecords.ts';
import { readJsonlRecords } from './readJsonlRecords.ts';
import {
  type ReaderOptions,
  type ResolvedReaderOptions,
  resolveReaderOptions,
} from './resolveReaderOptions.ts';
import { transcodeToUtf8 } from './transcodeToUtf8.ts';

export type { ReaderOptions } from './resolveReaderOptions.ts';

/**
 * Streams the records of a CSV or JSONL input, gzip-compressed or not, in any
 * of the supported encodings: exactly one `ReadResult` per record, in file
 * order. Memory stays flat whatever the file size. A bad record is yielded as
 * `{ ok: false, rejected }` and reading carries on; only an input that cannot
 * be read at all throws.
 *
 * Options are checked when this is called; the input is read as the generator is iterated.
 *
 * @param body The file's bytes, in chunks of any size (e.g. `fs.createReadStream(path)`, an S3 body).
 * @throws {ConfigError} at once, for a bad option.
 * @throws {InputError} while iterating, before any record, for a CSV header without the
 *   text column or a kept column; after a first batch of JSONL records, for a field none of
 *   them has; later, for a corrupt gzip stream or unreadable CSV.
 */
export function readRecords(
  body: AsyncIterable<Uint8Array>,
  options: ReaderOptions,
): AsyncGenerator<ReadResult> {
  const resolved = resolveReaderOptions(options);
  return read(resolved.gzip ? gunzipChunks(body, resolved.source) : body, resolved);
}

async function* read(
  body: AsyncIterable<Uint8Array>,
  options: ResolvedReaderOptions,
): AsyncGenerator<ReadResult> {
  // Every reader below sees UTF-8 bytes with no BOM; a shard from the middle has no BOM to honour.
  const text = await transcodeToUtf8(body, {
    encoding: options.encoding,
    atFileStart: options.lineOffset === 0 && options.csvHeader === undefined,
  });
  // Offsets for a checkpoint's cursor are in the file's own bytes: a UTF-8 BOM shifts them,
  // any other encoding changes the bytes, so such a file is resumed by skipping records.
  if (text.fromBom && text.encoding === 'utf-8') options.position?.skip(3);
  if (text.encoding !== 'utf-8') options.position?.transcoded();
  if (text.fromBom && text.encoding !== 'utf-8') {
    options.onNotice(
      options.encoding !== undefined && options.encoding !== text.encoding
        ? `${options.source}: a byte order mark says ${text.encoding}: reading it as ${text.encoding}, not ${options.encoding}`
        : `${options.source}: read as ${text.encoding} (byte order mark)`,
    );
  }
  yield* options.format === 'csv'
    ? readCsvRecords(text.chunks, options, text.encoding)
    : readJsonlRecords(text.chunks, options, text.encoding);
}
