/**
 * The reading end of one file's pipeline: the records of a file from the
 * start, or from where a checkpoint left off, and where reading stands.
 */
import { InputError } from '../errors.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { ReadResult, SourceInfo } from '../types.ts';
import type { Checkpoint, Cursor } from '../write/Checkpoint.ts';
import { detectFormat } from './detectFormat.ts';
import { ReadPosition } from './ReadPosition.ts';
import { readRecords } from './readRecords.ts';
import { skipRecords } from './skipRecords.ts';

/** A file's records, ready to read. */
export interface RecordSource {
  /** The records after the checkpoint's cursor (all of them without one), numbered as in the whole file. */
  readonly records: AsyncIterable<ReadResult>;
  /** Where the reader is: each record's end offset, line, and the CSV header and delimiter it settled on. */
  readonly position: ReadPosition;
  /** What the read saw of the source (its ETag, for usage.json). */
  readonly info: SourceInfo;
  /** `csv`, `jsonl`, `csv+gzip`, ... as usage.json names it. */
  readonly format: string;
  /** About how many records the whole file holds, judged from a cursor; undefined for gzip. */
  readonly estimateRecords?: (cursor: Cursor) => number;
}

/**
 * Opens `sourceUri` (whose `head` the caller took). Resuming from `resume`, a plain file is entered at
 * the cursor's byte by a ranged read (with the checkpointed CSV header and
 * delimiter); a gzip or transcoded one is read from the start and the
 * records done are passed over.
 *
 * @throws {InputError} when the file changed since `head` was taken.
 */
export async function openRecordSource(
  store: ObjectStore,
  sourceUri: string,
  head: SourceInfo,
  options: JobOptions,
  resume: Pick<Checkpoint, 'cursor' | 'csv_header' | 'csv_delimiter'> | undefined,
  onNotice?: (message: string) => void,
): Promise<RecordSource> {
  const { format, gzip, delimiter } = detectFormat(sourceUri);
  const cursor = resume?.cursor;
  const seek = cursor !== undefined && cursor.records > 0 && !gzip && cursor.seekable !== false;
  const opened = seek
    ? await openFrom(store, sourceUri, cursor.byte, head.bytes)
    : await store.get(sourceUri);
  if (opened.info.etag !== undefined && head.etag !== undefined && opened.info.etag !== head.etag) {
    throw new InputError(`${sourceUri} changed while the job was starting; run it again`);
  }
  const position = new ReadPosition(seek ? cursor.byte : 0);
  let records: AsyncIterable<ReadResult> = readRecords(opened.body, {
    source: sourceUri,
    format,
    gzip,
    textColumn: options.textColumn,
    idColumn: options.idColumn,
    keepColumns: options.keepColumns,
    maxRecordBytes: options.maxRecordBytes,
    csvHeader: seek && resume?.csv_header ? resume.csv_header : undefined,
    recordOffset: seek ? cursor.records : 0,
    lineOffset: seek ? cursor.lines : 0,
    position,
    // Read on with the delimiter the first attempt sniffed at the start: the middle may look otherwise.
    delimiter: resume?.csv_delimiter ?? options.delimiter ?? delimiter,
    encoding: options.encoding,
    requireIdColumn: options.requireIdColumn,
    onNotice,
  });
  // A gzip stream cannot be entered in the middle: decompress from the start, pass over what is done.
  if (cursor !== undefined && !seek && cursor.records > 0) records = skipRecords(records, cursor.records);
  return {
    records,
    position,
    info: opened.info.etag === undefined ? { ...opened.info, etag: head.etag } : opened.info,
    format: gzip ? `${format}+gzip` : format,
    estimateRecords: gzip ? undefined : (at) => Math.round((at.records * head.bytes) / at.byte),
  };
}

/** The file from byte `start` on (nothing when it ends there). */
async function openFrom(store: ObjectStore, uri: string, start: number, bytes: number) {
  if (start >= bytes) {
    const info = await store.head(uri);
    return { info: info ?? { uri, bytes }, body: (async function* () {})() };
  }
  return store.get(uri, { start, end: bytes - 1 });
}
