import type { Logger } from '@aws-lambda-powertools/logger';
import type { RequestPacker } from '../batch/RequestPacker.ts';
import { createEmbedder, type SharedRate } from '../embed/createEmbedder.ts';
import type { PermitSource } from '../embed/PermitSource.ts';
import { RetryAnnouncer } from '../embed/RetryAnnouncer.ts';
import type { BatchEmbedder, EmbeddingsTransport } from '../embed/types.ts';
import { AuthenticationError, JobInterruptedError } from '../errors.ts';
import { packerFor, runJob } from '../pipeline.ts';
import type { JobOptions, JobProgress } from '../pipelineTypes.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isOutputCurrent } from '../write/isOutputCurrent.ts';
import { readManifest } from '../write/OutputFolder.ts';
import type { UsageReport } from '../write/UsageReport.ts';
import type { ApiKeyProvider } from './createApiKeyProvider.ts';
import type { TimeBudget } from './createTimeBudget.ts';
import type { S3ObjectRef } from './decodeS3Event.ts';
import type { LambdaConfig } from './loadConfig.ts';
import { nameKeySource } from './nameKeySource.ts';
import { outputDirFor } from './outputDirFor.ts';
import { shardable } from './shardable.ts';
import type { LargeFileRunStarter } from './startLargeFileRun.ts';

/** What `embedObject` needs; built once per container by `createHandler`. */
export interface EmbedObjectDeps {
  readonly config: LambdaConfig;
  readonly store: ObjectStore;
  readonly jobOptions: JobOptions;
  readonly apiKey: ApiKeyProvider;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** How often a running job logs its progress. @default 30_000 */
  readonly progressIntervalMs?: number;
  /**
   * Starts the distributed run of a large object (`STATE_MACHINE_ARN`).
   * @default none: every object is embedded inline
   */
  readonly startLargeFileRun?: LargeFileRunStarter;
  /** The shared rate budget (`RATE_TABLE`). @default none: the job's own limiter */
  readonly rateBudget?: (rate: SharedRate) => PermitSource;
  /**
   * The embedder and packer of the invocation, shared by the objects it runs
   * at once (their rows share requests). @default one of its own for this object
   */
  readonly session?: () => Promise<EmbeddingSession>;
}

/** One embedder (one rate limit) and one packer, for every job of an invocation. */
export interface EmbeddingSession {
  readonly transport: EmbeddingsTransport;
  readonly embedder: BatchEmbedder;
  readonly packer: RequestPacker;
}

/**
 * Builds the embedding session on first use and hands the same one to every
 * later caller: the API token is read and the embedder built only when an
 * object needs embedding. Its signals are the invocation's time budget, so
 * waits and requests in flight stop with it.
 */
export function embeddingSession(deps: EmbedObjectDeps, budget: TimeBudget): () => Promise<EmbeddingSession> {
  let session: Promise<EmbeddingSession> | undefined;
  return () => {
    session ??= deps.apiKey.get().then((apiKey) => {
      const { config, logger, jobOptions } = deps;
      const { transport, embedder } = createEmbedder({
        baseUrl: config.baseUrl,
        apiKey,
        model: config.model,
        dimensions: config.dimensions,
        rps: config.rps,
        tpm: config.tpm,
        concurrency: jobOptions.concurrency,
        signal: budget.signal,
        maxRetryWait: config.maxRetryWait,
        // A job waiting on a failing endpoint says so (about once per 5 s), rather than going quiet.
        onRetry: new RetryAnnouncer(({ line, ...notice }) => logger.warn('retrying', notice)).onRetry,
        rateBudget: deps.rateBudget,
      });
      const packer = packerFor(jobOptions, { embedder, stop: budget.stop });
      return { transport, embedder, packer };
    });
    // A failed read of the secret is tried again by the next caller.
    session.catch(() => {
      session = undefined;
    });
    return session;
  };
}

/** How one object ended, when it did not fail. */
export type ObjectOutcome =
  /** No work of ours (outside the input prefix, an output, an unsupported suffix). */
  | { readonly status: 'ignored'; readonly reason: string }
  /** Nothing to do (already complete, or the object is gone). */
  | { readonly status: 'skipped'; readonly reason: string; readonly outputDir: string }
  /** Over `LARGE_FILE_BYTES`: handed to the large-file state machine, which writes the output. */
  | {
      readonly status: 'distributed';
      readonly outputDir: string;
      readonly bytes: number;
      readonly executionArn: string;
      /** A run of this object version had been started before (a duplicate delivery). */
      readonly alreadyStarted: boolean;
    }
  /** Stopped short of the time limit with its progress checkpointed: to go on in another invocation. */
  | { readonly status: 'continued'; readonly outputDir: string; readonly recordsDone: number }
  | {
      readonly status: 'done';
      readonly outputDir: string;
      readonly usage: UsageReport;
      readonly manifestUri: string;
    };

/**
 * Embeds one object of an S3 notification into its output folder, at least
 * once and effectively once:
 *
 * - an output folder whose manifest already records this source, ETag, model
 *   and format is complete: skipped (a redelivered message, or a retry after
 *   a later record of the same message failed);
 * - otherwise the pipeline runs under the output folder's protocol: one
 *   writer (a concurrent delivery fails as busy and is retried), parts in the
 *   scratch folder until the commit, a checkpoint every few seconds that a
 *   redelivery resumes;
 * - the time budget's `stop` ends the pipeline before Lambda's limit with its
 *   progress checkpointed: `continued`, for the handler to queue the rest;
 * - an object over `LARGE_FILE_BYTES` (not gzip) goes to the large-file state
 *   machine when one is configured, under an execution name derived from
 *   bucket, key and ETag (and an attempt number after a failed run).
 *
 * @throws whatever failed the job (the message is then retried).
 */
export async function embedObject(
  ref: S3ObjectRef,
  deps: EmbedObjectDeps,
  budget: TimeBudget,
): Promise<ObjectOutcome> {
  const { config, store, logger } = deps;
  const target = outputDirFor(ref.bucket, ref.key, config);
  if (target.skip !== undefined) return { status: 'ignored', reason: target.skip };
  const { outputDir } = target;
  // No time left to start: the next invocation does it.
  if (budget.expired) return { status: 'continued', outputDir, recordsDone: 0 };

  const sourceUri = `s3://${ref.bucket}/${ref.key}`;
  const current = await store.head(sourceUri);
  if (current === undefined) {
    // Deleted since the upload: a retry cannot help, and a later upload sends its own event.
    return { status: 'skipped', reason: 'the object no longer exists', outputDir };
  }
  if (ref.etag !== undefined && current.etag !== ref.etag) {
    // Overwritten since this event: embed what is there now; the newer event will find it complete.
    logger.info('object changed since the event; embedding the current version', {
      key: ref.key,
      eventEtag: ref.etag,
      currentEtag: current.etag,
    });
  }
  const previous = await readManifest(store, outputDir);
  if (
    isOutputCurrent(previous, {
      sourceUri,
      etag: current.etag,
      model: config.model,
      format: config.format,
      dimensions: config.dimensions,
    })
  ) {
    return { status: 'skipped', reason: 'already complete', outputDir };
  }

  // Large files go to parallel shards when the distributed path can cut them; the rest continue inline.
  const large = deps.startLargeFileRun !== undefined && current.bytes > config.largeFileBytes;
  const cut = large ? await shardable(store, sourceUri, current.bytes, deps.jobOptions) : undefined;
  if (cut !== undefined && !cut.ok)
    logger.info('large file embedded inline', { key: ref.key, bytes: current.bytes, reason: cut.reason });
  if (deps.startLargeFileRun !== undefined && cut?.ok === true) {
    const run = await deps.startLargeFileRun({
      bucket: ref.bucket,
      key: ref.key,
      etag: current.etag,
      size: current.bytes,
    });
    return {
      status: 'distributed',
      outputDir,
      bytes: current.bytes,
      executionArn: run.executionArn,
      alreadyStarted: run.alreadyStarted,
    };
  }

  const { transport, embedder, packer } = await (deps.session ?? embeddingSession(deps, budget))();

  let lastLoggedMs = Date.now();
  const intervalMs = deps.progressIntervalMs ?? 30_000;
  const onProgress = (progress: JobProgress): void => {
    if (Date.now() - lastLoggedMs < intervalMs) return;
    lastLoggedMs = Date.now();
    logger.info('progress', { key: ref.key, ...progress, remainingMs: budget.remainingMs() });
  };

  try {
    const result = await runJob(sourceUri, outputDir, deps.jobOptions, {
      store,
      embedder,
      packer,
      model: transport.model,
      endpoint: transport.endpoint,
      now: deps.now,
      onProgress,
      stop: budget.stop,
      onNotice: (message) => logger.info(message, { key: ref.key }),
      signal: budget.signal,
      holder: `a Lambda invocation for ${ref.key}`,
    });
    // The output is complete and the message done: redelivery cannot help a file whose every record is bad.
    const { rows } = result.usage;
    if (rows.read > 0 && rows.embedded === 0)
      logger.error('every record was rejected', { key: ref.key, rows, errors: `${outputDir}errors.jsonl` });
    return { status: 'done', outputDir, usage: result.usage, manifestUri: result.manifestUri };
  } catch (error) {
    if (error instanceof JobInterruptedError)
      return { status: 'continued', outputDir, recordsDone: error.recordsDone };
    // The secret may have been rotated: read it again next time instead of failing until the container dies.
    if (error instanceof AuthenticationError) deps.apiKey.invalidate();
    throw nameKeySource(error, config.apiKey);
  }
}
