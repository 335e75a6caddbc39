import { InputError } from './errors.ts';
import type { JobOptions } from './pipelineTypes.ts';
import { detectFormat } from './read/detectFormat.ts';
import { inferKeptColumns } from './read/inferKeptColumns.ts';
import { FIELD_CHECK_BYTES } from './read/JsonlFieldCheck.ts';
import { declaredType } from './read/keptColumn.ts';
import type { ObjectStore } from './store/ObjectStore.ts';
import type { SourceInfo } from './types.ts';

/** Where the source stands (from HEAD), and who hears what was decided. */
export interface ResolveKeptOptions {
  /** The version the job reads: its size bounds the read, its ETag must not change under it. */
  readonly head: SourceInfo;
  /** Told the types the first records gave, for stderr or logs. @default none */
  readonly onNotice?: (message: string) => void;
}

/**
 * The kept columns of one input as its parts are written: `--keep-columns`
 * with every bare JSONL name typed as the file's first records show it
 * (`inferKeptColumns`). CSV cells are text, so a CSV's bare names stay
 * strings (a zip code `01234` keeps its zero) and nothing is read.
 *
 * Called once per output, before anything is written: the job stores the
 * answer in its checkpoint and the shard planner in its plan, and a resumed
 * attempt or a shard uses the stored one, so every part of an output has one
 * schema.
 *
 * @throws {InputError} when the object changed since `head` was taken.
 */
export async function resolveKeptColumns(
  store: ObjectStore,
  sourceUri: string,
  options: Pick<JobOptions, 'keepColumns' | 'encoding' | 'maxRecordBytes'>,
  { head, onNotice }: ResolveKeptOptions,
): Promise<readonly string[]> {
  const { format, gzip } = detectFormat(sourceUri);
  const bare = options.keepColumns.some((spec) => declaredType(spec) === undefined);
  if (format !== 'jsonl' || !bare || head.bytes === 0) return options.keepColumns;
  // A plain file: the sample's bytes and one record more; gzip must be read from its start.
  const end = Math.min(head.bytes, FIELD_CHECK_BYTES + options.maxRecordBytes) - 1;
  const opened = await store.get(sourceUri, gzip ? undefined : { start: 0, end });
  if (opened.info.etag !== undefined && head.etag !== undefined && opened.info.etag !== head.etag) {
    await opened.body[Symbol.asyncIterator]().return?.();
    throw new InputError(`${sourceUri} changed while the job was starting; run it again`);
  }
  const inferred = await inferKeptColumns(opened.body, {
    source: sourceUri,
    gzip,
    encoding: options.encoding,
    keepColumns: options.keepColumns,
    maxRecordBytes: options.maxRecordBytes,
  });
  if (inferred.typed.length > 0) {
    const types = inferred.typed.map(({ name, type }) => `${name} ${type}`).join(', ');
    onNotice?.(
      `${sourceUri}: kept fields typed as the first ${inferred.records} records show them: ${types} (name:string keeps one as text)`,
    );
  }
  return inferred.keepColumns;
}
