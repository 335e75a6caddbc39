import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { containerRateBudget } from './aws/containerRateBudget.ts';
import { createHandler, type EmbedEvent, type EmbedHandler } from './aws/createHandler.ts';
import { loadConfig } from './aws/loadConfig.ts';
import { readSecret } from './aws/readSecret.ts';
import { sqsContinuationSender } from './aws/sendContinuation.ts';
import { sfnLargeFileRunStarter } from './aws/startLargeFileRun.ts';
import {
  createReindexHandler,
  type ReindexHandler,
  type ReindexResult,
} from './reindex/createReindexHandler.ts';
import { sqsBatchSender } from './reindex/enqueueStale.ts';
import { loadReindexConfig } from './reindex/loadReindexConfig.ts';
import { createS3Client } from './store/createS3Client.ts';
import { S3Store } from './store/S3Store.ts';

let wired: EmbedHandler | undefined;

/**
 * Lambda entry point for SQS batches of S3 notifications (the deployed path)
 * and plain S3 notification events. Only wiring: on the first invocation of a
 * container it reads the configuration and builds the real S3 store, secret
 * reader, logger and metrics; later invocations reuse them.
 *
 * Wiring happens on first use rather than at import, so a bad setting is
 * reported by the invocation (and retried after a fix) instead of breaking
 * the module load, and importing this file has no side effects.
 */
export async function handler(event: EmbedEvent, context: Context): Promise<SQSBatchResponse | undefined> {
  if (wired === undefined) {
    const config = loadConfig(process.env);
    wired = createHandler({
      config,
      store: new S3Store(createS3Client(process.env)),
      readSecret: (arn) => readSecret(arn),
      // RATE_TABLE: one budget for every invocation and shard worker (one client per container).
      rateBudget: containerRateBudget(config),
      // Large files go to the Step Functions Distributed Map when the stack deploys one.
      startLargeFileRun:
        config.stateMachineArn === undefined
          ? undefined
          : sfnLargeFileRunStarter(new SFNClient({}), config.stateMachineArn),
      // A job short of time goes on in a new invocation, through the job's own queue.
      continueLater:
        config.queueUrl === undefined ? undefined : sqsContinuationSender(new SQSClient({}), config.queueUrl),
    });
  }
  return wired(event, context);
}

let reindexWired: ReindexHandler | undefined;

/**
 * Lambda entry point of the scheduled reindex (EventBridge Scheduler): sends
 * an S3 notification for every input whose output is not current to the job
 * queue. Only wiring, built on first use like `handler`.
 */
export async function reindex(event: unknown, context: Context): Promise<ReindexResult> {
  reindexWired ??= createReindexHandler({
    config: loadReindexConfig(process.env),
    store: new S3Store(createS3Client(process.env)),
    sendBatch: sqsBatchSender(new SQSClient({})),
  });
  return reindexWired(event, context);
}

/**
 * The large-file state machine's entry points (planner, shard worker,
 * finaliser), in this bundle so that every function deploys the same asset.
 */
export { finalise, plan, shard } from './shardHandlers.ts';
