import { EmbedBatchError } from '../errors.ts';
import { joinUri } from '../store/uri.ts';
import type { InputFormat, OutputFile, OutputFormat } from '../types.ts';
import { PARTIAL_SUFFIX } from '../write/OutputLayout.ts';
import type { UsageReport } from '../write/UsageReport.ts';
import type { ShardRange } from './planShards.ts';

/** Scratch folder of a distributed run, inside the output folder; removed by the finaliser. */
export const SCRATCH_FOLDER = '_shards/';

/** Where the pieces of a distributed run live, all below `<outputDir>_shards/`. */
export const shardFiles = {
  scratch: (outputDir: string): string => joinUri(outputDir, SCRATCH_FOLDER),
  /** The plan: source version, reader settings, job settings (no shard list: every worker reads it). */
  plan: (outputDir: string): string => joinUri(outputDir, SCRATCH_FOLDER, 'plan.json'),
  /** The shard list, a JSON array of `ShardTask`: the Distributed Map's ItemReader input. */
  tasks: (outputDir: string): string => joinUri(outputDir, SCRATCH_FOLDER, 'shards.json'),
  /** A finished shard's result: its presence means the shard is done. */
  result: (outputDir: string, index: number): string =>
    joinUri(outputDir, SCRATCH_FOLDER, `${pad(index)}.json`),
  /** A shard's progress so far, for a worker that goes on where one ran short of time. */
  checkpoint: (outputDir: string, index: number): string =>
    joinUri(outputDir, SCRATCH_FOLDER, `checkpoint-${pad(index)}.json`),
  /** A shard's rejected records, concatenated into errors.jsonl by the finaliser. */
  errors: (outputDir: string, index: number): string =>
    joinUri(outputDir, SCRATCH_FOLDER, `errors-${pad(index)}.jsonl`),
  /** The run's errors.jsonl, joined by the finaliser and moved into place by its commit. */
  joinedErrors: (outputDir: string): string =>
    joinUri(outputDir, SCRATCH_FOLDER, `errors.jsonl${PARTIAL_SUFFIX}`),
} as const;

/**
 * `_shards/part-00003-00000.parquet.partial`: part 0 of shard 3, written to
 * the run's scratch folder until the finaliser commits it as
 * `part-00003-00000.parquet`. Shard first, so names sort in row order, and
 * the committed names match `PART_FILE_PATTERN`, so any later run
 * (distributed or not) removes them when its manifest does not list them.
 */
export function shardPartFileName(shard: number): (index: number, extension: 'parquet' | 'arrow') => string {
  return (index, extension) =>
    `${SCRATCH_FOLDER}part-${pad(shard)}-${pad(index)}.${extension}${PARTIAL_SUFFIX}`;
}

function pad(value: number): string {
  return String(value).padStart(5, '0');
}

/** `_shards/plan.json`: what every worker and the finaliser need, written once by the planner. */
export interface ShardPlan {
  readonly version: 1;
  /** Distinguishes this plan from an earlier one for the same folder; results of another plan are never merged. */
  readonly runId: string;
  readonly source: { readonly uri: string; readonly etag: string | null; readonly bytes: number };
  readonly format: InputFormat;
  readonly gzip: boolean;
  readonly outputDir: string;
  /** CSV: the header cells, for every shard but the first. */
  readonly csvHeader: readonly string[] | null;
  /** Records in the file as the reader numbers them; null when not counted (gzip). */
  readonly records: number | null;
  readonly shards: number;
  /** The job settings the plan was made for; workers and the finaliser use these, not their own. */
  readonly job: {
    readonly model: string;
    readonly outputFormat: OutputFormat;
    readonly endpoint: string;
    /**
     * The reader and row settings the shards were embedded with (columns,
     * text, dimensions, limits), as JSON: a restarted run keeps this plan,
     * and its finished shards, only when they are the same.
     */
    readonly settings?: string;
    /**
     * The kept columns every shard writes, JSONL types decided once for the
     * whole file (`resolveKeptColumns`), so all parts share one schema.
     * Absent in a plan from before types were inferred: the job's own columns.
     */
    readonly keepColumns?: readonly string[];
  };
  /** When planning started: usage.json's `started_at` and every part's `created_at`. */
  readonly startedAt: string;
}

/** One item of the Distributed Map: a worker's whole input, its byte range and where to find the plan. */
export interface ShardTask extends ShardRange {
  readonly planUri: string;
  readonly runId: string;
}

/** `_shards/<index>.json`: one shard's counts and files, written last by its worker. */
export interface ShardResult {
  readonly version: 1;
  readonly runId: string;
  readonly index: number;
  readonly model: string;
  readonly endpoint: string;
  readonly dimensions: number | null;
  readonly rows: UsageReport['rows'];
  readonly tokens: UsageReport['tokens'];
  readonly requests: UsageReport['requests'];
  /** Part files in row order. */
  readonly outputs: OutputFile[];
  readonly errors: OutputFile;
  readonly started_at: string;
  readonly finished_at: string;
}

/** What the planner returns: the state machine's data between its states. */
export interface PlanSummary {
  readonly runId: string;
  readonly planUri: string;
  readonly outputDir: string;
  readonly sourceUri: string;
  readonly etag: string | null;
  readonly shards: number;
  readonly records: number | null;
  /** Bucket and key of the shard list, for the Distributed Map's ItemReader (S3 outputs only). */
  readonly itemReader?: { readonly bucket: string; readonly key: string };
}

/**
 * Parses a scratch JSON file written by this code.
 * @throws {EmbedBatchError} when it is not one (another version, a truncated write).
 */
export function parseScratch<T extends { readonly version: 1 }>(
  text: string,
  uri: string,
  required: readonly (keyof T & string)[],
): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EmbedBatchError(`${uri} is not JSON`, { cause: error });
  }
  const object = value as Partial<T> | null;
  if (typeof object !== 'object' || object === null || object.version !== 1) {
    throw new EmbedBatchError(`${uri} is not a version 1 file of a distributed run`);
  }
  for (const key of required) {
    if (object[key] === undefined) throw new EmbedBatchError(`${uri} has no \`${key}\``);
  }
  return object as T;
}

/** The shard list file. @throws {EmbedBatchError} when it is not a JSON array of tasks. */
export function parseTasks(text: string, uri: string): ShardTask[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EmbedBatchError(`${uri} is not JSON`, { cause: error });
  }
  if (!Array.isArray(value)) throw new EmbedBatchError(`${uri} is not a JSON array`);
  return value.map((item, i) => {
    const task = item as Partial<ShardTask> | null;
    if (typeof task?.index !== 'number' || task.index !== i || typeof task.runId !== 'string') {
      throw new EmbedBatchError(`${uri}: item ${i} is not shard ${i}`);
    }
    return task as ShardTask;
  });
}
