import { isUtf8 } from 'node:buffer';
import { InputError } from '../errors.ts';
import { gunzipChunks } from './gunzipChunks.ts';
import { FIELD_CHECK_BYTES, FIELD_CHECK_RECORDS } from './JsonlFieldCheck.ts';
import { KeptTypeSample } from './KeptTypeSample.ts';
import { declaredType, type KeptColumn, parseKeptColumn } from './keptColumn.ts';
import { LineSplitter, type SplitLine } from './LineSplitter.ts';
import { DEFAULT_MAX_RECORD_BYTES } from './resolveReaderOptions.ts';
import { type InputEncoding, transcodeToUtf8 } from './transcodeToUtf8.ts';

/** What `inferKeptColumns` reads and decides about. */
export interface InferKeptOptions {
  /** File name or URI, for messages. */
  readonly source: string;
  readonly gzip: boolean;
  /** As the job reads the file; a byte order mark wins. @default 'utf-8' */
  readonly encoding?: InputEncoding;
  /** `--keep-columns` entries; only bare names get a type here. */
  readonly keepColumns: readonly string[];
  /** Longer lines are passed over, as the reader rejects them. @default 1 MiB */
  readonly maxRecordBytes?: number;
  /** JSON objects to look at. @default FIELD_CHECK_RECORDS (100) */
  readonly records?: number;
}

/** The kept columns of a JSONL file with their types decided. */
export interface InferredKeptColumns {
  /** `keepColumns` with every bare name the records typed rewritten as `name:type`; the rest as given. */
  readonly keepColumns: readonly string[];
  /** The bare names that got a type other than string, for a notice. */
  readonly typed: readonly KeptColumn[];
  /** JSON objects the decision rests on. */
  readonly records: number;
}

/**
 * Types the kept fields of a JSONL file that were given as bare names, as
 * its first records show them (`KeptTypeSample`): the first 100 JSON objects,
 * or fewer within the first 16 MiB of lines, as the reader's field check.
 * Lines that are not JSON objects are passed over (the reader rejects them).
 *
 * Reads the start of `body` only and then closes it. A gzip stream that is
 * cut short or corrupt ends the sample where it breaks: the reader fails the
 * job there with the proper message.
 *
 * The result depends on the file's bytes alone, so every caller that types
 * the same file (the inline job, the shard planner) gets the same columns;
 * callers still persist it (checkpoint, plan) so that a resumed or sharded
 * run never decides again.
 */
export async function inferKeptColumns(
  body: AsyncIterable<Uint8Array>,
  options: InferKeptOptions,
): Promise<InferredKeptColumns> {
  const bare = options.keepColumns.filter((spec) => declaredType(spec) === undefined);
  const sample = new KeptTypeSample(bare.map((spec) => parseKeptColumn(spec).name));
  if (bare.length > 0) await observeFirstObjects(body, options, sample);
  else await body[Symbol.asyncIterator]().return?.();

  const typed: KeptColumn[] = [];
  const keepColumns = options.keepColumns.map((spec) => {
    if (declaredType(spec) !== undefined) return spec;
    const column = parseKeptColumn(spec);
    const type = sample.typeOf(column.name);
    if (type === 'string') return spec;
    typed.push({ name: column.name, type });
    return `${spec}:${type}`;
  });
  return { keepColumns, typed, records: sample.objects };
}

async function observeFirstObjects(
  body: AsyncIterable<Uint8Array>,
  options: InferKeptOptions,
  sample: KeptTypeSample,
): Promise<void> {
  const records = options.records ?? FIELD_CHECK_RECORDS;
  const splitter = new LineSplitter(options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  let bytes = 0;
  /** Looks at one line; true once the sample is complete. */
  const take = (line: SplitLine): boolean => {
    if (typeof line === 'number') {
      bytes += line;
    } else {
      bytes += line.length;
      const object = objectOf(line);
      if (object !== undefined) sample.observe(object);
    }
    return sample.objects >= records || bytes >= FIELD_CHECK_BYTES;
  };
  const source = options.gzip ? gunzipChunks(body, options.source) : body;
  try {
    const text = await transcodeToUtf8(source, { encoding: options.encoding });
    for await (const chunk of text.chunks) {
      // Leaving the loop closes the transcoder, the gunzip stream and the body beneath.
      if (splitter.push(chunk).some(take)) return;
    }
    splitter.end().some(take);
  } catch (error) {
    // Deterministic for the file's bytes: decide on the records before the break.
    if (!(error instanceof InputError)) throw error;
  }
}

/** The line's JSON object, or undefined for anything the reader would reject or skip. */
function objectOf(line: Buffer): Record<string, unknown> | undefined {
  if (!isUtf8(line)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
