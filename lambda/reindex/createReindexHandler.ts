import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describeConfig } from '../aws/loadConfig.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { type EnqueueResult, enqueueStale, type SendMessageBatch } from './enqueueStale.ts';
import { findStaleObjects, type StaleObject } from './findStaleObjects.ts';
import type { ReindexConfig } from './loadReindexConfig.ts';

/** Everything the reindex handler talks to; `handler.ts` passes the real ones, tests their own. */
export interface ReindexDeps {
  readonly config: ReindexConfig;
  readonly store: ObjectStore;
  /** SendMessageBatch to the job queue (`sqsBatchSender(new SQSClient())` in production). */
  readonly sendBatch: SendMessageBatch;
  /** @default a Powertools Logger for `config.job.serviceName` */
  readonly logger?: Logger;
  /** Clock for the notifications' event time. @default () => new Date() */
  readonly now?: () => Date;
}

/** What one run did; also the function's return value. */
export interface ReindexResult {
  /** Objects under the input prefix. */
  readonly listed: number;
  /** Inputs whose output is current. */
  readonly upToDate: number;
  /** Stale inputs sent to the job queue. */
  readonly enqueued: number;
  /** Stale inputs the queue did not accept (they stay stale; the next run offers them again). */
  readonly failed: number;
}

/** The scheduled reindex: the event (the schedule's input) carries nothing it needs. */
export type ReindexHandler = (event: unknown, context: Context) => Promise<ReindexResult>;

/**
 * Builds the reindex handler: each run lists the input prefix, finds the
 * inputs whose output is not current (`findStaleObjects`) and sends one S3
 * notification per stale input to the job queue (`enqueueStale`), where the
 * job embeds them with its own rate limit, retries and dead-letter queue.
 * Nothing is embedded here.
 *
 * Runs are idempotent: an input enqueued twice (two runs, or a run and an
 * upload) is embedded once; the job skips what is complete by then.
 */
export function createReindexHandler(deps: ReindexDeps): ReindexHandler {
  const { config } = deps;
  const logger = deps.logger ?? new Logger({ serviceName: config.job.serviceName });
  const now = deps.now ?? (() => new Date());
  logger.info('configuration', {
    bucket: config.bucket,
    queueUrl: config.queueUrl,
    concurrency: config.concurrency,
    job: describeConfig(config.job),
  });

  return async (_event, context) => {
    logger.addContext(context);
    const started = Date.now();
    const scan = findStaleObjects({
      store: deps.store,
      bucket: config.bucket,
      config: config.job,
      concurrency: config.concurrency,
    });
    // Bounded: a handful of distinct reasons, however many objects.
    const reasons: Record<string, number> = {};
    async function* logged(): AsyncGenerator<StaleObject> {
      for await (const object of scan) {
        reasons[object.reason] = (reasons[object.reason] ?? 0) + 1;
        logger.debug('stale', { key: object.key, reason: object.reason, outputDir: object.outputDir });
        yield object;
      }
    }

    let sent: EnqueueResult;
    try {
      sent = await enqueueStale(logged(), {
        queueUrl: config.queueUrl,
        sendBatch: deps.sendBatch,
        event: { region: config.region, eventTime: now() },
      });
    } catch (error) {
      // The run fails (Lambda retries it, then its dead-letter queue); what was sent stays sent.
      logger.error('reindex failed', { ...scan.counts, error });
      throw error;
    }

    const { listed, ignored, upToDate, stale } = scan.counts;
    const result: ReindexResult = { listed, upToDate, enqueued: sent.enqueued, failed: sent.failed };
    const summary = {
      prefix: `s3://${config.bucket}/${config.job.inputPrefix}`,
      ...result,
      ignored,
      stale,
      reasons,
      durationMs: Date.now() - started,
    };
    if (sent.failed > 0) {
      logger.error('reindex enqueued only part of the stale inputs', { ...summary, failures: sent.failures });
    } else {
      logger.info('reindex', summary);
    }
    return result;
  };
}
