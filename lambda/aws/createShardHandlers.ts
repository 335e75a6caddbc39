import type { Context } from 'aws-lambda';
import { createEmbedder } from '../embed/createEmbedder.ts';
import { AuthenticationError, EmbedBatchError, JobInterruptedError } from '../errors.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import { type FinaliseInput, finaliseShards } from '../shard/finaliseShards.ts';
import { planLargeFile } from '../shard/planLargeFile.ts';
import { runShard } from '../shard/runShard.ts';
import type { PlanSummary, ShardTask } from '../shard/ShardPlan.ts';
import type { UsageReport } from '../write/UsageReport.ts';
import { createApiKeyProvider } from './createApiKeyProvider.ts';
import type { HandlerDeps } from './createHandler.ts';
import { createObservability } from './createObservability.ts';
import { createTimeBudget } from './createTimeBudget.ts';
import { jobOptionsFor } from './jobOptionsFor.ts';
import { describeConfig, type LambdaConfig } from './loadConfig.ts';
import { nameKeySource } from './nameKeySource.ts';
import { outputDirFor } from './outputDirFor.ts';
import { publishUsageMetrics } from './publishUsageMetrics.ts';
import type { LargeFileRunInput } from './startLargeFileRun.ts';

/** Seconds of work a shard is sized for at the per-worker rate: room for retries within 15 minutes. */
const SHARD_WORK_SECONDS = 600;

/**
 * What the three state machine functions talk to, as the job handler does but
 * without a state machine to start; `shardHandlers.ts` passes the real ones.
 * Only workers read the secret.
 */
export type ShardHandlerDeps = Omit<HandlerDeps, 'startLargeFileRun'>;

/**
 * What a worker returns to the Distributed Map (results live in S3):
 * `continue` when it ran short of time with its progress checkpointed, and
 * the state machine runs it again from there.
 */
export type ShardOutcome =
  | {
      readonly index: number;
      readonly status: 'done';
      readonly rows: UsageReport['rows'];
      readonly alreadyDone: boolean;
    }
  | { readonly index: number; readonly status: 'continue'; readonly recordsDone: number };

/** What the finaliser returns: the execution's output. */
export interface FinaliseSummary {
  readonly status: 'finalised' | 'already finalised';
  readonly manifestUri: string;
  readonly rows?: UsageReport['rows'];
}

/** The Lambda handlers of the large-file state machine. */
export interface ShardHandlers {
  /** Planner: the execution input (from routing) -> the plan summary, the state data of the later steps. */
  readonly plan: (event: LargeFileRunInput, context: Context) => Promise<PlanSummary>;
  /** Shard worker: one Distributed Map item. */
  readonly shard: (task: ShardTask, context: Context) => Promise<ShardOutcome>;
  /** Finaliser: the plan summary -> the output folder's manifest. */
  readonly finalise: (summary: FinaliseInput, context: Context) => Promise<FinaliseSummary>;
}

/**
 * Records per shard when `SHARD_RECORDS` is not set: what one worker embeds
 * in about ten minutes at its request rate (`EMBED_RPS`), so a shard fits an
 * invocation with room for retries. No limit when the rate is not capped.
 */
export function defaultShardRecords(config: LambdaConfig, options: JobOptions): number | undefined {
  if (config.shardRecords !== undefined) return config.shardRecords;
  if (config.rps === undefined) return undefined;
  return Math.max(1, Math.floor(config.rps * options.batchSize * SHARD_WORK_SECONDS));
}

/**
 * Builds the planner, shard worker and finaliser around their dependencies.
 * Call once per container: job options are resolved (and checked) here, the
 * API token is read once and kept.
 */
export function createShardHandlers(deps: ShardHandlerDeps): ShardHandlers {
  const { config, store } = deps;
  const observability = deps.logger && deps.metrics ? undefined : createObservability(config);
  const logger = deps.logger ?? observability!.logger;
  const metrics = deps.metrics ?? observability!.metrics;
  const jobOptions = jobOptionsFor(config);
  const apiKey = createApiKeyProvider(config.apiKey, deps.readSecret);
  const shardRecords = defaultShardRecords(config, jobOptions);
  logger.info('configuration', { config: describeConfig(config), shardRecords });

  const plan: ShardHandlers['plan'] = async (event, context) => {
    logger.addContext(context);
    if (typeof event?.bucket !== 'string' || typeof event.key !== 'string') {
      throw new EmbedBatchError('expected the execution input {bucket, key, etag, size}');
    }
    const target = outputDirFor(event.bucket, event.key, config);
    if (target.skip !== undefined) {
      throw new EmbedBatchError(`s3://${event.bucket}/${event.key} is no input of this job: ${target.skip}`);
    }
    const summary = await planLargeFile(
      `s3://${event.bucket}/${event.key}`,
      target.outputDir,
      {
        shardBytes: config.shardBytes,
        shardRecords,
        job: jobOptions,
        model: config.model,
        endpoint: config.baseUrl ?? 'offline',
      },
      { store, now: deps.now },
    );
    if (event.etag !== undefined && summary.etag !== null && summary.etag !== event.etag) {
      logger.info('object changed since it was routed; planned the current version', {
        key: event.key,
        routedEtag: event.etag,
        plannedEtag: summary.etag,
      });
    }
    logger.info('planned', { key: event.key, ...summary });
    return summary;
  };

  const shard: ShardHandlers['shard'] = async (task, context) => {
    logger.addContext(context);
    const fields = { planUri: task.planUri, shard: task.index };
    const budget = createTimeBudget(context, config.timeMarginMs);
    try {
      if (budget.expired) return { index: task.index, status: 'continue', recordsDone: 0 };
      // One embedder per shard: its signal is this invocation's budget.
      const { transport, embedder } = createEmbedder({
        baseUrl: config.baseUrl,
        apiKey: await apiKey.get(),
        model: config.model,
        dimensions: config.dimensions,
        rps: config.rps,
        tpm: config.tpm,
        concurrency: jobOptions.concurrency,
        signal: budget.signal,
        rateBudget: deps.rateBudget,
      });
      let lastLoggedMs = Date.now();
      const intervalMs = deps.progressIntervalMs ?? 30_000;
      try {
        const { result, alreadyDone } = await runShard(task, jobOptions, {
          store,
          embedder,
          model: transport.model,
          endpoint: transport.endpoint,
          now: deps.now,
          stop: budget.stop,
          signal: budget.signal,
          onProgress: (progress) => {
            if (Date.now() - lastLoggedMs < intervalMs) return;
            lastLoggedMs = Date.now();
            logger.info('progress', { ...fields, ...progress, remainingMs: budget.remainingMs() });
          },
        });
        logger.info(alreadyDone ? 'shard already done' : 'shard embedded', { ...fields, rows: result.rows });
        return { index: task.index, status: 'done', rows: result.rows, alreadyDone };
      } catch (error) {
        if (error instanceof JobInterruptedError) {
          logger.info('shard continues: progress checkpointed', {
            ...fields,
            recordsDone: error.recordsDone,
          });
          return { index: task.index, status: 'continue', recordsDone: error.recordsDone };
        }
        // The secret may have been rotated: read it again next time.
        if (error instanceof AuthenticationError) apiKey.invalidate();
        throw nameKeySource(error, config.apiKey);
      }
    } finally {
      budget.dispose();
    }
  };

  const finalise: ShardHandlers['finalise'] = async (summary, context) => {
    logger.addContext(context);
    const outcome = await finaliseShards(summary, { store, now: deps.now });
    if (outcome.status === 'already finalised') {
      logger.info('already finalised', { outputDir: summary.outputDir, manifestUri: outcome.manifestUri });
      return { status: outcome.status, manifestUri: outcome.manifestUri };
    }
    const { usage } = outcome;
    logger.info('embedded', {
      outputDir: summary.outputDir,
      rows: usage.rows,
      tokens: usage.tokens.total,
      requests: {
        sent: usage.requests.sent,
        retried: usage.requests.retried,
        throttled: usage.requests.throttled,
      },
      durationMs: usage.timing.duration_ms,
    });
    publishUsageMetrics(metrics, usage, summary.sourceUri.replace(/^s3:\/\/[^/]+\//, ''));
    return { status: outcome.status, manifestUri: outcome.manifestUri, rows: usage.rows };
  };

  return { plan, shard, finalise };
}
