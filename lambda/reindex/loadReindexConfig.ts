import { type LambdaConfig, loadConfig } from '../aws/loadConfig.ts';
import { ConfigError } from '../errors.ts';

/** The reindex function's settings, read once per container from its environment. */
export interface ReindexConfig {
  /** `BUCKET`: the data bucket whose input prefix is scanned. */
  readonly bucket: string;
  /** `QUEUE_URL`: the job queue stale inputs are sent to. */
  readonly queueUrl: string;
  /** `REINDEX_CONCURRENCY`: manifests read at once. @default 8 */
  readonly concurrency: number;
  /** `AWS_REGION` (set by Lambda): the region written into the notifications. @default 'us-east-1' */
  readonly region: string;
  /**
   * The job's own settings, read by the job's own `loadConfig` from the same
   * variables (`INPUT_PREFIX`, `OUTPUT_PREFIX`, `EMBEDDINGS_MODEL`,
   * `EMBEDDINGS_BASE_URL`, `EMBED_FORMAT`, `EMBED_DIMENSIONS`, ...), so the
   * reindex judges "current" exactly as the job does.
   */
  readonly job: LambdaConfig;
}

/** S3's rules for bucket names (the common subset: lower-case letters, digits, `.` and `-`). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads, trims and validates the reindex function's environment. Empty
 * values count as unset. Every message names the variable.
 *
 * @throws ConfigError on a missing or malformed value.
 */
export function loadReindexConfig(env: NodeJS.ProcessEnv = process.env): ReindexConfig {
  const bucket = env.BUCKET?.trim() ?? '';
  if (!BUCKET_NAME.test(bucket)) {
    throw new ConfigError(`Expected \`BUCKET\` to be an S3 bucket name, got ${JSON.stringify(env.BUCKET)}`);
  }
  const queueUrl = env.QUEUE_URL?.trim() ?? '';
  let protocol = '';
  try {
    protocol = new URL(queueUrl).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'https:' && protocol !== 'http:') {
    throw new ConfigError(
      `Expected \`QUEUE_URL\` to be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), got ${JSON.stringify(env.QUEUE_URL)}`,
    );
  }
  const rawConcurrency = env.REINDEX_CONCURRENCY?.trim() || undefined;
  const concurrency = rawConcurrency === undefined ? 8 : Number(rawConcurrency);
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError(
      `Expected \`REINDEX_CONCURRENCY\` to be an integer from 1 to 64, got ${JSON.stringify(rawConcurrency)}`,
    );
  }
  return {
    bucket,
    queueUrl,
    concurrency,
    region: env.AWS_REGION?.trim() || 'us-east-1',
    job: loadConfig(env),
  };
}
