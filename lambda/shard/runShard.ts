import { Readable } from 'node:stream';
import { ConfigError, EmbedBatchError, InputError } from '../errors.ts';
import { type CheckpointProgress, DEFAULT_CHECKPOINT_INTERVAL_MS, embedRecordsToParts } from '../pipeline.ts';
import type { JobOptions, JobPorts } from '../pipelineTypes.ts';
import { ReadPosition } from '../read/ReadPosition.ts';
import { readRecords } from '../read/readRecords.ts';
import { skipRecords } from '../read/skipRecords.ts';
import type { OpenedObject } from '../store/ObjectStore.ts';
import type { ReadResult } from '../types.ts';
import {
  parseScratch,
  type ShardPlan,
  type ShardResult,
  type ShardTask,
  shardFiles,
  shardPartFileName,
} from './ShardPlan.ts';

/** How a shard ended. */
export interface RunShardOutcome {
  readonly result: ShardResult;
  /** The shard's result was already there (a retried or redriven item): nothing was embedded again. */
  readonly alreadyDone: boolean;
}

const PLAN_FIELDS = ['runId', 'source', 'format', 'outputDir', 'job', 'startedAt'] as const;

/**
 * The shard worker of the distributed path: reads its byte range with one
 * ranged GET, runs the same pipeline as a whole-file job
 * (`embedRecordsToParts`) with the plan's record and line offsets, so record
 * numbers and lines in errors stay global, and writes
 *
 * - its parts as `part-<shard>-<part>.parquet|arrow` directly in the output folder,
 * - its rejected records to `_shards/errors-<shard>.jsonl`,
 * - last, its result `_shards/<shard>.json` (counts, tokens, requests, files).
 *
 * Idempotent: a shard whose result of this plan exists is not embedded again;
 * a rerun after a crash rewrites the same part names.
 *
 * @throws {InputError} when the object changed since it was planned (another ETag).
 * @throws {EmbedBatchError} when the plan is gone or superseded, or the shard holds
 *   another number of records than the plan counted (nothing is then merged).
 */
export async function runShard(
  task: ShardTask,
  options: JobOptions,
  ports: JobPorts,
): Promise<RunShardOutcome> {
  const { store } = ports;
  const now = ports.now ?? (() => new Date());
  const planText = await store.getText(task.planUri);
  if (planText === undefined) {
    throw new EmbedBatchError(
      `shard ${task.index}: no plan at ${task.planUri} (finalised, or replaced by a newer run)`,
    );
  }
  const plan = parseScratch<ShardPlan>(planText, task.planUri, PLAN_FIELDS);
  if (plan.runId !== task.runId) {
    throw new EmbedBatchError(
      `shard ${task.index} belongs to run ${task.runId}, but the plan is now run ${plan.runId}`,
    );
  }
  if (ports.model !== plan.job.model) {
    throw new ConfigError(
      `shard ${task.index}: this worker embeds with ${ports.model}, the plan with ${plan.job.model}`,
    );
  }
  const { outputDir } = plan;
  const resultUri = shardFiles.result(outputDir, task.index);
  const earlier = await store.getText(resultUri);
  if (earlier !== undefined) {
    const result = parseScratch<ShardResult>(earlier, resultUri, ['runId', 'index']);
    if (result.runId === plan.runId && result.index === task.index) return { result, alreadyDone: true };
  }

  // A worker that ran short of time left a checkpoint: go on after its cursor.
  const checkpointUri = shardFiles.checkpoint(outputDir, task.index);
  const saved = parseShardCheckpoint(await store.getText(checkpointUri), plan.runId, task.index);
  const cursor = saved?.cursor;
  const resumed = cursor !== undefined && cursor.records > 0;
  const seek = resumed && !plan.gzip && cursor.seekable !== false;
  const startedAt = saved ? new Date(saved.started_at) : now();
  const sourceUri = plan.source.uri;
  const start = seek ? cursor.byte : task.start;
  const opened = await openRange(store, plan, task, start);
  const position = new ReadPosition(start);
  // The plan's settings, not this worker's: one schema in every shard's parts.
  const job: JobOptions = {
    ...options,
    keepColumns: plan.job.keepColumns ?? options.keepColumns,
    format: plan.job.outputFormat,
  };
  let records: AsyncIterable<ReadResult> = readRecords(opened.body, {
    source: sourceUri,
    format: plan.format,
    gzip: plan.gzip,
    textColumn: options.textColumn,
    idColumn: options.idColumn,
    keepColumns: job.keepColumns,
    maxRecordBytes: options.maxRecordBytes,
    // As the planner cut the rows and split the header: on commas (shard 0 must not sniff its own bytes).
    delimiter: ',',
    // The first shard starts at byte 0 and reads the header row itself.
    csvHeader: (task.index > 0 || seek) && plan.csvHeader !== null ? plan.csvHeader : undefined,
    recordOffset: task.recordOffset + (seek ? cursor.records : 0),
    lineOffset: seek ? cursor.lines : task.lineOffset,
    position,
  });
  if (resumed && !seek) records = skipRecords(records, cursor.records);
  const embedded = await embedRecordsToParts(
    records,
    {
      outputDir,
      sourceUri,
      errorsUri: shardFiles.errors(outputDir, task.index),
      // One `created_at` in every part of the output, as in a whole-file run.
      createdAt: new Date(plan.startedAt),
      fileName: shardPartFileName(task.index),
      position,
      resume: saved,
      checkpoint: {
        intervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
        save: (progress) =>
          store
            .put(
              checkpointUri,
              `${JSON.stringify({ version: 1, runId: plan.runId, index: task.index, started_at: startedAt.toISOString(), ...progress })}\n`,
            )
            .then(() => undefined),
      },
    },
    // Vectors are not reused from an earlier output here: every worker would stage a copy of it.
    job,
    ports,
  );
  if (task.records !== null && embedded.rows.read !== task.records) {
    throw new EmbedBatchError(
      `shard ${task.index} of ${sourceUri} held ${embedded.rows.read} records where the plan counted ${task.records}; its output is not used`,
    );
  }

  const { requests } = embedded;
  const result: ShardResult = {
    version: 1,
    runId: plan.runId,
    index: task.index,
    model: ports.model,
    endpoint: ports.endpoint,
    dimensions: embedded.dimensions ?? null,
    rows: embedded.rows,
    tokens: embedded.tokens,
    requests: {
      sent: requests.sent,
      succeeded: requests.succeeded,
      retried: requests.retried,
      throttled: requests.throttled,
      failed: requests.failed,
      by_status: { ...requests.byStatus },
    },
    outputs: embedded.outputs,
    errors: embedded.errors,
    started_at: startedAt.toISOString(),
    finished_at: now().toISOString(),
  };
  await store.put(resultUri, `${JSON.stringify(result, null, 2)}\n`);
  await store.delete([checkpointUri]);
  return { result, alreadyDone: false };
}

/** A shard worker's checkpoint: the pipeline's progress, bound to one run and shard. */
type ShardCheckpoint = CheckpointProgress & {
  readonly version: 1;
  readonly runId: string;
  readonly index: number;
  readonly started_at: string;
};

/** The checkpoint of this run's shard, or undefined (none, another run's, unreadable). */
function parseShardCheckpoint(
  text: string | undefined,
  runId: string,
  index: number,
): ShardCheckpoint | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ShardCheckpoint>;
    return value.version === 1 && value.runId === runId && value.index === index && value.cursor
      ? (value as ShardCheckpoint)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The shard's bytes from `start`, from the very object version that was planned. */
async function openRange(
  store: JobPorts['store'],
  plan: ShardPlan,
  task: ShardTask,
  start: number,
): Promise<OpenedObject> {
  const uri = plan.source.uri;
  if (task.end < start) return { info: { uri, bytes: plan.source.bytes }, body: empty() };
  const opened = await store.get(uri, { start, end: task.end });
  const etag = opened.info.etag;
  if (plan.source.etag !== null && etag !== undefined && etag !== plan.source.etag) {
    // Byte offsets of the plan mean nothing in another version; reading on would split records.
    await drop(opened.body);
    throw new InputError(`${uri} changed since it was planned (ETag ${etag}, planned ${plan.source.etag})`);
  }
  return opened;
}

async function* empty(): AsyncGenerator<Uint8Array> {}

/** Ends a body we will not read, so its file or connection is released at once. */
async function drop(body: AsyncIterable<Uint8Array>): Promise<void> {
  // A stream's iterator that never started ignores `return()`, leaving the stream open (a local
  // file until garbage collection, which Node 24 warns about): destroy the stream itself.
  if (body instanceof Readable) {
    body.destroy();
    return;
  }
  await body[Symbol.asyncIterator]().return?.();
}
