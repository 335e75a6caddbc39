import type { JobOptions } from '../pipelineTypes.ts';
import type { CsvDelimiter } from '../read/CsvDelimiter.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { OutputFile, RequestStats, SourceInfo, TokenStats } from '../types.ts';
import type { ErrorSegments } from './ErrorsWriter.ts';
import { scratchUri } from './OutputLayout.ts';
import type { UsageReport } from './UsageReport.ts';

/** What makes an output: a checkpoint made under another binding is discarded, never resumed. */
export interface CheckpointBinding {
  readonly source: { readonly uri: string; readonly etag: string | null; readonly bytes: number };
  readonly model: string;
  /** Requested dimensions (null: the model's own). */
  readonly dimensions: number | null;
  readonly textColumn: string;
  readonly idColumn: string;
  readonly keepColumns: readonly string[];
  readonly includeText: boolean;
  readonly format: JobOptions['format'];
  /** As given (`--delimiter`, `--encoding`); null when sniffed or the default. */
  readonly delimiter: string | null;
  readonly encoding: string | null;
}

/** Where reading stopped: every record up to here is in a written part or error segment. */
export interface Cursor {
  /** Records done (1-based numbers 1..records). */
  readonly records: number;
  /** Byte offset in the file where the next record starts (plain files; gzip is skipped by count). */
  readonly byte: number;
  /** Lines of the file up to the cursor. */
  readonly lines: number;
  /** Whether `byte` points into the file's own bytes (false for a transcoded encoding: skip by count). */
  readonly seekable?: boolean;
}

/** `_scratch/checkpoint.json`: a run's committed progress, enough to resume it. */
export interface Checkpoint {
  readonly version: 1;
  readonly binding: CheckpointBinding;
  readonly cursor: Cursor;
  /** Column names of a CSV header, to read on from the middle of the file. */
  readonly csv_header: readonly string[] | null;
  /** The CSV delimiter the first attempt used (given or sniffed at the start). */
  readonly csv_delimiter: CsvDelimiter | null;
  /**
   * The kept columns the parts are written with, every JSONL type decided
   * (`resolveKeptColumns`): a resumed attempt writes the same schema without
   * deciding again. Absent in a checkpoint from before types were inferred:
   * its parts hold the columns as given.
   */
  readonly kept_columns?: readonly string[];
  /** Vector length, once known. */
  readonly dimensions: number | null;
  /** Parts written so far, in order, in the scratch folder. */
  readonly parts: readonly OutputFile[];
  readonly next_part: number;
  readonly errors: ErrorSegments;
  /** Counters of every attempt so far (tokens count every token paid). */
  readonly rows: UsageReport['rows'];
  readonly tokens: TokenStats;
  readonly requests: RequestStats;
  /** Attempts that wrote this checkpoint (1 for the first). */
  readonly attempts: number;
  readonly started_at: string;
  /** Schema metadata `created_at` of every part of the run. */
  readonly created_at: string;
  readonly updated_at: string;
}

const CHECKPOINT_FILE = 'checkpoint.json';

/** URI of an output folder's checkpoint. */
export function checkpointUri(dir: string): string {
  return scratchUri(dir, CHECKPOINT_FILE);
}

/** The binding of a job over one source version. */
export function bindingOf(source: SourceInfo, model: string, options: JobOptions): CheckpointBinding {
  return {
    source: { uri: source.uri, etag: source.etag ?? null, bytes: source.bytes },
    model,
    dimensions: options.dimensions ?? null,
    textColumn: options.textColumn,
    idColumn: options.idColumn,
    keepColumns: [...options.keepColumns],
    includeText: options.includeText,
    format: options.format,
    delimiter: options.delimiter ?? null,
    encoding: options.encoding ?? null,
  };
}

/** Whether two bindings make the same output. */
export function sameBinding(a: CheckpointBinding, b: CheckpointBinding): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The folder's checkpoint, or undefined when there is none (or it is not readable as one). */
export async function readCheckpoint(store: ObjectStore, dir: string): Promise<Checkpoint | undefined> {
  const text = await store.getText(checkpointUri(dir));
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Checkpoint>;
    if (value.version !== 1 || !value.binding || !value.cursor || !Array.isArray(value.parts))
      return undefined;
    return value as Checkpoint;
  } catch {
    return undefined;
  }
}

/** Writes the checkpoint (one atomic put: the old one or the new one, never half). */
export async function writeCheckpoint(
  store: ObjectStore,
  dir: string,
  checkpoint: Checkpoint,
): Promise<void> {
  await store.put(checkpointUri(dir), `${JSON.stringify(checkpoint)}\n`);
}
