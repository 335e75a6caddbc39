import pLimit from 'p-limit';
import { EmbedBatchError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { OutputFile } from '../types.ts';
import type { Manifest } from '../write/Manifest.ts';
import { commitOutput, manifestUri, readManifest } from '../write/OutputFolder.ts';
import { buildUsageReport, type UsageReport } from '../write/UsageReport.ts';
import {
  type PlanSummary,
  parseScratch,
  parseTasks,
  type ShardPlan,
  type ShardResult,
  shardFiles,
} from './ShardPlan.ts';

/** Shard results read at once. */
const READ_CONCURRENCY = 16;

/** What the finaliser talks to. */
export interface FinalisePorts {
  readonly store: ObjectStore;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** How finalising ended. */
export type FinaliseOutcome =
  | { readonly status: 'finalised'; readonly manifestUri: string; readonly usage: UsageReport }
  /** A rerun: this run's manifest was already written; scratch left over is removed. */
  | { readonly status: 'already finalised'; readonly manifestUri: string; readonly manifest: Manifest };

/** The part of the planner's summary the finaliser needs. */
export type FinaliseInput = Pick<PlanSummary, 'runId' | 'planUri' | 'outputDir' | 'sourceUri' | 'etag'>;

const PLAN_FIELDS = ['runId', 'source', 'format', 'outputDir', 'job', 'startedAt', 'shards'] as const;
const RESULT_FIELDS = ['runId', 'index', 'rows', 'tokens', 'requests', 'outputs', 'errors'] as const;

/**
 * The finaliser of the distributed path: merges the shard results into one
 * output folder, exactly as a whole-file run leaves it.
 *
 * 1. every shard's result must be there and belong to this plan;
 * 2. `errors.jsonl` is the shards' errors files concatenated in shard order
 *    (streamed, never held whole);
 * 3. `usage.json` sums the shards' counts, timed from planning to now;
 *    `manifest.json` lists the parts in shard order and is written last, by
 *    `commitOutput`, which first removes parts no shard listed (leftovers of
 *    an earlier run or a crashed attempt);
 * 4. `_shards/` is removed, the plan last.
 *
 * Idempotent: when this run's manifest is already written (a retried or
 * redriven finaliser), it only finishes the cleanup and returns that manifest,
 * unchanged.
 *
 * @throws {EmbedBatchError} when a shard has no result, results disagree
 *   (model, dimensions) or do not add up to the records the plan counted, or
 *   the plan was replaced by a newer run.
 */
export async function finaliseShards(input: FinaliseInput, ports: FinalisePorts): Promise<FinaliseOutcome> {
  const { store } = ports;
  const now = ports.now ?? (() => new Date());
  const { outputDir } = input;

  const planText = await store.getText(input.planUri);
  if (planText === undefined) {
    // Cleaned up already: a finished manifest of this source version is this run's.
    const manifest = await readManifest(store, outputDir);
    if (manifest !== undefined && isOf(manifest, input.sourceUri, input.etag)) {
      return { status: 'already finalised', manifestUri: manifestUri(outputDir), manifest };
    }
    throw new EmbedBatchError(`no plan at ${input.planUri} and no finished output in ${outputDir}`);
  }
  const plan = parseScratch<ShardPlan>(planText, input.planUri, PLAN_FIELDS);
  if (plan.runId !== input.runId) {
    throw new EmbedBatchError(`run ${input.runId} was replaced by run ${plan.runId} in ${outputDir}`);
  }
  const existing = await readManifest(store, outputDir);
  // The planner deleted any manifest before it started: a manifest of this version written since is this run's.
  if (
    existing !== undefined &&
    isOf(existing, plan.source.uri, plan.source.etag) &&
    existing.created_at >= plan.startedAt
  ) {
    await removeScratch(store, plan);
    return { status: 'already finalised', manifestUri: manifestUri(outputDir), manifest: existing };
  }

  const results = await readResults(store, plan);
  const counted = results.reduce((sum, result) => sum + result.rows.read, 0);
  if (plan.records !== null && counted !== plan.records) {
    throw new EmbedBatchError(`the shards read ${counted} records, the plan counted ${plan.records}`);
  }
  const dimensions = agreedDimensions(results);

  const errorsUri = shardFiles.joinedErrors(outputDir);
  const errorsRows = results.reduce((sum, result) => sum + result.errors.rows, 0);
  const errorsBytes = results.reduce((sum, result) => sum + result.errors.bytes, 0);
  if (errorsBytes === 0) await store.put(errorsUri, '');
  else await store.putStream(errorsUri, concatenate(store, results));

  const outputs: OutputFile[] = results.flatMap((result) => result.outputs);
  const finishedAt = now();
  const usage = buildUsageReport({
    source: { uri: plan.source.uri, etag: plan.source.etag ?? undefined, bytes: plan.source.bytes },
    format: plan.gzip ? `${plan.format}+gzip` : plan.format,
    model: plan.job.model,
    dimensions: dimensions ?? undefined,
    endpoint: results[0]?.endpoint ?? plan.job.endpoint,
    rows: sumRows(results),
    tokens: {
      prompt: results.reduce((sum, result) => sum + result.tokens.prompt, 0),
      total: results.reduce((sum, result) => sum + result.tokens.total, 0),
    },
    requests: sumRequests(results),
    startedAt: new Date(plan.startedAt),
    finishedAt,
    outputs,
  });
  const { manifestUri: uri, usage: committed } = await commitOutput(store, outputDir, {
    usage,
    parts: outputs,
    errors: { uri: errorsUri, rows: errorsRows },
    format: plan.job.outputFormat,
    createdAt: finishedAt,
  });
  await removeScratch(store, plan);
  return { status: 'finalised', manifestUri: uri, usage: committed };
}

function isOf(manifest: Manifest, sourceUri: string, etag: string | null): boolean {
  return manifest.source.uri === sourceUri && manifest.source.etag === etag;
}

/** Every shard's result, in shard order; a missing or foreign one fails the run. */
async function readResults(store: ObjectStore, plan: ShardPlan): Promise<ShardResult[]> {
  const tasksUri = shardFiles.tasks(plan.outputDir);
  const tasksText = await store.getText(tasksUri);
  if (tasksText === undefined) throw new EmbedBatchError(`no shard list at ${tasksUri}`);
  const tasks = parseTasks(tasksText, tasksUri);
  if (tasks.length !== plan.shards) {
    throw new EmbedBatchError(`${tasksUri} lists ${tasks.length} shards, the plan ${plan.shards}`);
  }
  const limit = pLimit(READ_CONCURRENCY);
  return Promise.all(
    tasks.map((task) =>
      limit(async () => {
        const uri = shardFiles.result(plan.outputDir, task.index);
        const text = await store.getText(uri);
        if (text === undefined) throw new EmbedBatchError(`shard ${task.index} has no result (${uri})`);
        const result = parseScratch<ShardResult>(text, uri, RESULT_FIELDS);
        if (result.runId !== plan.runId || result.index !== task.index) {
          throw new EmbedBatchError(`${uri} is not shard ${task.index} of run ${plan.runId}`);
        }
        if (task.records !== null && result.rows.read !== task.records) {
          throw new EmbedBatchError(
            `shard ${task.index} read ${result.rows.read} records, the plan counted ${task.records}`,
          );
        }
        return result;
      }),
    ),
  );
}

/** The vector length every shard that embedded anything agrees on; null when none did. */
function agreedDimensions(results: readonly ShardResult[]): number | null {
  let dimensions: number | null = null;
  for (const result of results) {
    if (result.dimensions === null) continue;
    if (dimensions !== null && result.dimensions !== dimensions) {
      throw new EmbedBatchError(
        `shard ${result.index} wrote vectors of ${result.dimensions} dimensions, earlier shards ${dimensions}`,
      );
    }
    dimensions = result.dimensions;
  }
  return dimensions;
}

function sumRows(results: readonly ShardResult[]): UsageReport['rows'] {
  const rows = { read: 0, embedded: 0, rejected: 0, deduplicated: 0, reused: 0 };
  for (const result of results) {
    rows.read += result.rows.read;
    rows.embedded += result.rows.embedded;
    rows.rejected += result.rows.rejected;
    rows.deduplicated += result.rows.deduplicated;
    rows.reused += result.rows.reused;
  }
  return rows;
}

function sumRequests(results: readonly ShardResult[]) {
  const requests = {
    sent: 0,
    succeeded: 0,
    retried: 0,
    throttled: 0,
    failed: 0,
    byStatus: {} as Record<string, number>,
  };
  for (const { requests: r } of results) {
    requests.sent += r.sent;
    requests.succeeded += r.succeeded;
    requests.retried += r.retried;
    requests.throttled += r.throttled;
    requests.failed += r.failed;
    for (const [status, count] of Object.entries(r.by_status)) {
      requests.byStatus[status] = (requests.byStatus[status] ?? 0) + count;
    }
  }
  return requests;
}

/** The shards' errors files, one after another, as one stream. */
async function* concatenate(store: ObjectStore, results: readonly ShardResult[]): AsyncGenerator<Uint8Array> {
  for (const result of results) {
    if (result.errors.bytes === 0) continue;
    const opened = await store.get(result.errors.uri);
    yield* opened.body;
  }
}

/** Deletes `_shards/`, the plan last: until it is gone, a rerun can still tell this run's manifest. */
async function removeScratch(store: ObjectStore, plan: ShardPlan): Promise<void> {
  const planUri = shardFiles.plan(plan.outputDir);
  const others: string[] = [];
  for await (const object of store.list(shardFiles.scratch(plan.outputDir))) {
    if (object.uri !== planUri) others.push(object.uri);
  }
  if (others.length > 0) await store.delete(others);
  await store.delete([planUri]);
}
