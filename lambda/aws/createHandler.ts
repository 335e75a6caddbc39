import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, S3Event, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runAdmitted, weightOfBytes } from '../batch/runAdmitted.ts';
import type { SharedRate } from '../embed/createEmbedder.ts';
import type { PermitSource } from '../embed/PermitSource.ts';
import { EmbedBatchError, isFatalForJob } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { createApiKeyProvider } from './createApiKeyProvider.ts';
import { createObservability } from './createObservability.ts';
import { createTimeBudget, type TimeBudget } from './createTimeBudget.ts';
import { type DecodedMessage, decodeS3Event, type S3ObjectRef } from './decodeS3Event.ts';
import { type EmbedObjectDeps, embeddingSession, embedObject } from './embedObject.ts';
import { jobOptionsFor } from './jobOptionsFor.ts';
import { describeConfig, type LambdaConfig } from './loadConfig.ts';
import { publishOutcomeMetric, publishUsageMetrics } from './publishUsageMetrics.ts';
import type { SecretReader } from './readSecret.ts';
import type { ContinuationSender } from './sendContinuation.ts';
import type { LargeFileRunStarter } from './startLargeFileRun.ts';
import { TimeLimitError } from './TimeLimitError.ts';

/** Everything the handler talks to; `handler.ts` passes the real ones, tests their own. */
export interface HandlerDeps {
  readonly config: LambdaConfig;
  readonly store: ObjectStore;
  /** Reads the API token's secret (Secrets Manager in production). Called at most once per container. */
  readonly readSecret: SecretReader;
  /** Clock for the outputs' timestamps. @default () => new Date() */
  readonly now?: () => Date;
  /** @default a Powertools Logger for `config.serviceName` */
  readonly logger?: Logger;
  /** @default Powertools Metrics in `config.metricsNamespace` */
  readonly metrics?: Metrics;
  /** How often a running job logs progress. @default 30_000 */
  readonly progressIntervalMs?: number;
  /**
   * Starts the large-file state machine (`STATE_MACHINE_ARN`).
   * @default none: every object is embedded inline, whatever its size
   */
  readonly startLargeFileRun?: LargeFileRunStarter;
  /**
   * Queues a job that ran short of time to go on from its checkpoint
   * (`QUEUE_URL`). @default none: such a job fails with a TimeLimitError and
   * its retry resumes from the checkpoint
   */
  readonly continueLater?: ContinuationSender;
  /** The shared rate budget every embedder draws on (`RATE_TABLE`). @default none: each job's own limiter */
  readonly rateBudget?: (rate: SharedRate) => PermitSource;
}

/** The events the function receives: SQS batches of S3 notifications (deployed), or S3 notifications. */
export type EmbedEvent = SQSEvent | S3Event;

/**
 * The Lambda handler: for SQS events it answers with the failed message ids
 * (partial batch response) and never throws for a record; for S3 events it
 * throws when any record failed, so Lambda's async retry runs again.
 */
export type EmbedHandler = (event: EmbedEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

/**
 * Builds the handler around its dependencies. Call once per container:
 * the API token is read once and cached here, and the job options are
 * resolved here, so a bad setting fails the first invocation loudly.
 *
 * The messages of a batch run at once, under one time budget and one
 * embedding session (one rate limit, one packer): rows of small files share
 * requests, so a batch of small files costs about the requests of one file
 * their size. The objects of one message run one after another.
 */
export function createHandler(deps: HandlerDeps): EmbedHandler {
  const { config } = deps;
  const observability = deps.logger && deps.metrics ? undefined : createObservability(config);
  const logger = deps.logger ?? observability!.logger;
  const metrics = deps.metrics ?? observability!.metrics;
  const jobOptions = jobOptionsFor(config);
  const objectDeps: EmbedObjectDeps = {
    config,
    store: deps.store,
    jobOptions,
    apiKey: createApiKeyProvider(config.apiKey, deps.readSecret),
    logger,
    now: deps.now,
    progressIntervalMs: deps.progressIntervalMs,
    startLargeFileRun: deps.startLargeFileRun,
    rateBudget: deps.rateBudget,
  };
  logger.info('configuration', { config: describeConfig(config) });

  /** Runs one object, logging and counting how it ended; throws when it failed. */
  const runObject = async (
    object: S3ObjectRef,
    messageId: string | undefined,
    budget: TimeBudget,
    session: EmbedObjectDeps['session'],
  ) => {
    const fields = { key: object.key, bucket: object.bucket, messageId };
    const outcome = await embedObject(object, { ...objectDeps, session }, budget);
    if (outcome.status === 'ignored') {
      logger.info('ignored', { ...fields, reason: outcome.reason });
    } else if (outcome.status === 'distributed') {
      logger.info(outcome.alreadyStarted ? 'large file: run already started' : 'large file: run started', {
        ...fields,
        bytes: outcome.bytes,
        outputDir: outcome.outputDir,
        executionArn: outcome.executionArn,
      });
    } else if (outcome.status === 'continued') {
      if (deps.continueLater === undefined) throw new TimeLimitError(object.key, outcome.recordsDone);
      await deps.continueLater(object);
      logger.info('continued: progress checkpointed, the job goes on in a new invocation', {
        ...fields,
        outputDir: outcome.outputDir,
        recordsDone: outcome.recordsDone,
      });
      publishOutcomeMetric(metrics, 'JobsContinued');
    } else if (outcome.status === 'skipped') {
      logger.info(outcome.reason, { ...fields, outputDir: outcome.outputDir });
      publishOutcomeMetric(metrics, 'JobsSkipped');
    } else {
      const { rows, tokens, requests, timing } = outcome.usage;
      logger.info('embedded', {
        ...fields,
        outputDir: outcome.outputDir,
        rows,
        tokens: tokens.total,
        requests: { sent: requests.sent, retried: requests.retried, throttled: requests.throttled },
        durationMs: timing.duration_ms,
      });
      publishUsageMetrics(metrics, outcome.usage, object.key);
    }
  };

  let coldStart = true;
  return async (event, context) => {
    logger.addContext(context);
    if (coldStart) {
      coldStart = false;
      metrics.captureColdStartMetric(context.functionName);
    }
    const decoded = decodeS3Event(event);
    const failed: { message: DecodedMessage; error: unknown }[] = [];
    // After a bad token or an unknown model every other record fails the same way: do not hammer the endpoint.
    let fatal: unknown;
    const budget = createTimeBudget(context, config.timeMarginMs);
    const session = embeddingSession(objectDeps, budget);

    const runnable: DecodedMessage[] = [];
    for (const message of decoded.messages) {
      for (const reason of message.ignored) logger.info('ignored', { messageId: message.messageId, reason });
      if (message.error !== undefined) {
        logger.error('message is not an S3 notification', {
          messageId: message.messageId,
          reason: message.error,
        });
        failed.push({ message, error: new EmbedBatchError(message.error) });
      } else runnable.push(message);
    }
    const runMessage = async (message: DecodedMessage): Promise<void> => {
      // Objects of one message succeed or fail together; the completed ones are skipped on retry.
      for (const object of message.objects) {
        if (fatal !== undefined) {
          failed.push({ message, error: fatal });
          return;
        }
        try {
          await runObject(object, message.messageId, budget, session);
        } catch (error) {
          logger.error('failed', {
            key: object.key,
            bucket: object.bucket,
            messageId: message.messageId,
            error,
          });
          publishOutcomeMetric(metrics, 'JobsFailed');
          if (isFatalForJob(error)) fatal ??= error;
          failed.push({ message, error });
          return;
        }
      }
    };
    try {
      const started = await runAdmitted(
        runnable,
        {
          weight: (message) => weightOfBytes(message.objects.reduce((n, o) => n + (o.size ?? 0), 0)),
          halted: () => fatal !== undefined,
        },
        runMessage,
      );
      for (const message of runnable.slice(started))
        if (message.objects.length > 0) failed.push({ message, error: fatal });
    } finally {
      budget.dispose();
    }

    if (decoded.source === 'sqs') {
      return {
        batchItemFailures: failed.map(({ message }) => ({ itemIdentifier: message.messageId ?? '' })),
      };
    }
    if (failed.length === 1) throw failed[0]?.error;
    if (failed.length > 1) {
      const reasons = failed.map(({ error }) => (error as Error).message).join('; ');
      throw new EmbedBatchError(`${failed.length} records failed: ${reasons}`, { cause: failed[0]?.error });
    }
    return undefined;
  };
}
