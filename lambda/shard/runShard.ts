import { ConfigError, EmbedBatchError, InputError } from '../errors.ts';
import { embedRecordsToParts } from '../pipeline.ts';
import type { JobOptions, JobPorts } from '../pipelineTypes.ts';
import { readRecords } from '../read/readRecords.ts';
import type { OpenedObject } from '../store/ObjectStore.ts';
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

  const startedAt = now();
  const sourceUri = plan.source.uri;
  const opened = await openRange(store, plan, task);
  const records = readRecords(opened.body, {
    source: sourceUri,
    format: plan.format,
    gzip: plan.gzip,
    textColumn: options.textColumn,
    idColumn: options.idColumn,
    keepColumns: options.keepColumns,
    maxRecordBytes: options.maxRecordBytes,
    // As the planner cut the rows and split the header: on commas (shard 0 must not sniff its own bytes).
    delimiter: ',',
    // The first shard starts at byte 0 and reads the header row itself.
    csvHeader: task.index > 0 && plan.csvHeader !== null ? plan.csvHeader : undefined,
    recordOffset: task.recordOffset,
    lineOffset: task.lineOffset,
  });
  const embedded = await embedRecordsToParts(
    records,
    {
      outputDir,
      sourceUri,
      errorsUri: shardFiles.errors(outputDir, task.index),
      // One `created_at` in every part of the output, as in a whole-file run.
      createdAt: new Date(plan.startedAt),
      fileName: shardPartFileName(task.index),
    },
    // Vectors are not reused from an earlier output here: every worker would stage a copy of it.
    { ...options, format: plan.job.outputFormat },
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
  return { result, alreadyDone: false };
}

/** The shard's bytes, from the very object version that was planned. */
async function openRange(store: JobPorts['store'], plan: ShardPlan, task: ShardTask): Promise<OpenedObject> {
  const uri = plan.source.uri;
  if (task.end < task.start) return { info: { uri, bytes: plan.source.bytes }, body: empty() };
  const opened = await store.get(uri, { start: task.start, end: task.end });
  const etag = opened.info.etag;
  if (plan.source.etag !== null && etag !== undefined && etag !== plan.source.etag) {
    // Byte offsets of the plan mean nothing in another version; reading on would split records.
    await drop(opened.body);
    throw new InputError(`${uri} changed since it was planned (ETag ${etag}, planned ${plan.source.etag})`);
  }
  return opened;
}

async function* empty(): AsyncGenerator<Uint8Array> {}

/** Ends a body we will not read, so its connection is released. */
async function drop(body: AsyncIterable<Uint8Array>): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  await iterator.return?.();
}
