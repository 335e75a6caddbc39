import { randomUUID } from 'node:crypto';
import { ConfigError, InputError } from '../errors.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import { detectFormat } from '../read/detectFormat.ts';
import { resolveCsvColumns } from '../read/resolveCsvColumns.ts';
import { resolveKeptColumns } from '../resolveKeptColumns.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isS3Uri, parseS3Uri } from '../store/uri.ts';
import { prepareOutput } from '../write/OutputFolder.ts';
import { planShards, type ShardLayout } from './planShards.ts';
import { type PlanSummary, type ShardPlan, type ShardTask, shardFiles } from './ShardPlan.ts';

/** How to cut a file, and the job it is cut for. */
export interface PlanLargeFileOptions {
  /** A shard ends at the first record boundary at or past this many bytes from its start. */
  readonly shardBytes: number;
  /** A shard also ends once it holds this many records. @default no limit */
  readonly shardRecords?: number;
  /** The job's options (columns, record size limit, output format). */
  readonly job: JobOptions;
  /** Model id the workers will use. */
  readonly model: string;
  /** Endpoint base URL recorded in usage.json when no shard reports one (an empty file). */
  readonly endpoint: string;
}

/** What the planner talks to. */
export interface PlanPorts {
  readonly store: ObjectStore;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default randomUUID */
  readonly runId?: () => string;
}

/**
 * The planner of the distributed path. One streaming pass over the object
 * (never buffered whole) finds record boundaries and cuts it into shards;
 * then, in the output folder:
 *
 * 1. an interrupted commit is finished (`prepareOutput`) and a leftover
 *    `_shards/` of an earlier run is removed; an earlier complete output stays
 *    in place, readable, until the finaliser commits (shards write their parts
 *    to `_shards/` as `.partial` files);
 * 2. `_shards/shards.json` (the Distributed Map's items) and
 *    `_shards/plan.json` (what every worker reads) are written.
 *
 * A gzip object cannot be read from the middle: it gets one shard covering
 * all of it (its records are not counted). The handler sends gzip inline, so
 * this only happens when a run is started by hand.
 *
 * @throws {InputError} when the object is missing, or the reader could not read it
 *   either (a CSV quote never closed, a header without the text column).
 */
export async function planLargeFile(
  sourceUri: string,
  outputDir: string,
  options: PlanLargeFileOptions,
  ports: PlanPorts,
): Promise<PlanSummary> {
  const { store } = ports;
  const startedAt = (ports.now ?? (() => new Date()))();
  const { format, gzip } = detectFormat(sourceUri);
  const { job } = options;
  // The shards read UTF-8 with commas (`shardable` routes the rest inline); a job set otherwise would be read wrongly.
  if (job.encoding !== undefined && job.encoding !== 'utf-8') {
    throw new ConfigError(
      `${sourceUri}: the distributed path reads UTF-8 only, and this job reads ${job.encoding}: embed it inline`,
    );
  }
  if (format === 'csv' && job.delimiter !== undefined && job.delimiter !== ',') {
    throw new ConfigError(
      `${sourceUri}: the distributed path reads comma-separated CSV only, and this job reads ${JSON.stringify(job.delimiter)}: embed it inline`,
    );
  }
  // A run of this very version and job that ended unfinished (a failed execution, restarted):
  // keep its plan, so shards it finished are not embedded again and the others resume.
  const earlier = await resumablePlan(store, outputDir, sourceUri, { format, gzip, options });
  if (earlier !== undefined) return earlier;
  const runId = (ports.runId ?? randomUUID)();

  let layout: ShardLayout;
  let info: { etag?: string; bytes: number };
  if (gzip) {
    const head = await store.head(sourceUri);
    if (head === undefined) throw new InputError(`no such object: ${sourceUri}`);
    info = head;
    const whole = { index: 0, start: 0, end: head.bytes - 1, recordOffset: 0, lineOffset: 0, records: null };
    layout = { shards: head.bytes > 0 ? [whole] : [], records: null, bytes: head.bytes };
    await clearOutput(store, outputDir);
  } else {
    const opened = await store.get(sourceUri);
    info = opened.info;
    await clearOutput(store, outputDir);
    layout = await planShards(opened.body, {
      format,
      source: sourceUri,
      maxRecordBytes: job.maxRecordBytes,
      shardBytes: options.shardBytes,
      shardRecords: options.shardRecords,
    });
    // The first shard's reader would fail on it; fail before any worker starts.
    if (layout.csvHeader !== undefined) resolveCsvColumns(layout.csvHeader, { source: sourceUri, ...job });
  }

  // Shards of the middle never see the first records: the plan types the kept fields for all of them.
  const keepColumns = await resolveKeptColumns(store, sourceUri, job, {
    head: { uri: sourceUri, etag: info.etag, bytes: info.bytes },
  });

  const planUri = shardFiles.plan(outputDir);
  const tasksUri = shardFiles.tasks(outputDir);
  const tasks: ShardTask[] = layout.shards.map((shard) => ({
    planUri,
    runId,
    index: shard.index,
    start: shard.start,
    end: shard.end,
    recordOffset: shard.recordOffset,
    lineOffset: shard.lineOffset,
    records: shard.records,
  }));
  const plan: ShardPlan = {
    version: 1,
    runId,
    source: { uri: sourceUri, etag: info.etag ?? null, bytes: info.bytes },
    format,
    gzip,
    outputDir,
    csvHeader: layout.csvHeader ?? null,
    records: layout.records,
    shards: tasks.length,
    job: {
      model: options.model,
      outputFormat: job.format,
      endpoint: options.endpoint,
      settings: jobSettings(job),
      keepColumns,
    },
    startedAt: startedAt.toISOString(),
  };
  await store.put(tasksUri, `${JSON.stringify(tasks)}\n`);
  await store.put(planUri, `${JSON.stringify(plan, null, 2)}\n`);

  return summaryOf(plan, planUri, tasksUri);
}

/** What the planner hands the state machine: the plan's ids, counts and the ItemReader location. */
function summaryOf(plan: ShardPlan, planUri: string, tasksUri: string): PlanSummary {
  const summary: PlanSummary = {
    runId: plan.runId,
    planUri,
    outputDir: plan.outputDir,
    sourceUri: plan.source.uri,
    etag: plan.source.etag,
    shards: plan.shards,
    records: plan.records,
  };
  if (!isS3Uri(tasksUri)) return summary;
  const { bucket, key } = parseS3Uri(tasksUri);
  return { ...summary, itemReader: { bucket, key } };
}

/** What of the job options makes the shards' rows, as one comparable string. */
function jobSettings(job: JobOptions): string {
  return JSON.stringify([
    job.textColumn,
    job.idColumn,
    job.keepColumns,
    job.includeText,
    job.dimensions ?? null,
    job.maxRecordBytes,
    job.requireIdColumn ?? false,
    job.delimiter ?? null,
    job.encoding ?? null,
  ]);
}

/** The summary of an unfinished plan for the same source version and job, or undefined. */
async function resumablePlan(
  store: ObjectStore,
  outputDir: string,
  sourceUri: string,
  wanted: { format: ShardPlan['format']; gzip: boolean; options: PlanLargeFileOptions },
): Promise<PlanSummary | undefined> {
  const planUri = shardFiles.plan(outputDir);
  const tasksUri = shardFiles.tasks(outputDir);
  const [planText, head, tasksHead] = await Promise.all([
    store.getText(planUri),
    store.head(sourceUri),
    store.head(tasksUri),
  ]);
  if (planText === undefined || head === undefined || tasksHead === undefined) return undefined;
  let plan: ShardPlan;
  try {
    plan = JSON.parse(planText) as ShardPlan;
  } catch {
    return undefined;
  }
  const { options } = wanted;
  const same =
    plan.version === 1 &&
    plan.source?.uri === sourceUri &&
    plan.source.etag === (head.etag ?? null) &&
    plan.source.bytes === head.bytes &&
    plan.format === wanted.format &&
    plan.gzip === wanted.gzip &&
    plan.job?.model === options.model &&
    plan.job.outputFormat === options.job.format &&
    plan.job.endpoint === options.endpoint &&
    plan.job.settings === jobSettings(options.job);
  return same ? summaryOf(plan, planUri, tasksUri) : undefined;
}

/** Finishes an interrupted commit and deletes whatever an earlier distributed run left in `_shards/`. */
async function clearOutput(store: ObjectStore, outputDir: string): Promise<void> {
  await prepareOutput(store, outputDir);
  const leftovers: string[] = [];
  for await (const object of store.list(shardFiles.scratch(outputDir))) leftovers.push(object.uri);
  if (leftovers.length > 0) await store.delete(leftovers);
}
