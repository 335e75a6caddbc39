import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ConfigError, EmbedBatchError } from '../errors.ts';

/** The object a distributed run embeds: the state machine's execution input, as the planner reads it. */
export interface LargeFileRunInput {
  readonly bucket: string;
  readonly key: string;
  /** The version routed (from HEAD); the planner plans the version it reads and records that one. */
  readonly etag?: string;
  readonly size: number;
}

/** A started (or already running) distributed run. */
export interface LargeFileRun {
  readonly executionArn: string;
  readonly name: string;
  /** An execution of this name existed: a duplicate delivery, nothing new was started. */
  readonly alreadyStarted: boolean;
}

/** Starts the distributed run of one object; the seam tests replace. */
export type LargeFileRunStarter = (input: LargeFileRunInput) => Promise<LargeFileRun>;

/** Step Functions execution names: at most 80 characters; these are always safe. */
const NAME_LENGTH = 80;
const HASH_LENGTH = 64;

/**
 * The execution name of an object version: the file's stem (readable in the
 * console) and the hex SHA-256 of `bucket/key/etag`, at most 80 characters
 * of `[A-Za-z0-9_-]`. The same version always gets the same name, so a
 * duplicate S3 notification cannot start a second run: Step Functions
 * refuses a second execution of one name (for 90 days).
 */
export function executionName(bucket: string, key: string, etag: string | undefined): string {
  const hash = createHash('sha256')
    .update(`${bucket}/${key}/${etag ?? ''}`)
    .digest('hex');
  const base = key.slice(key.lastIndexOf('/') + 1).replace(/\..*$/, '');
  const stem = base.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, NAME_LENGTH - HASH_LENGTH - 1);
  return stem === '' ? hash : `${stem}-${hash}`;
}

/** Runs of one object version that may be started, one after another, when earlier ones ended without an output. */
export const MAX_RUN_ATTEMPTS = 20;

/** The name of attempt `n` (1-based) of a version's run: `executionName`, then `...-a2`, `...-a3`. */
export function attemptName(base: string, attempt: number): string {
  if (attempt === 1) return base;
  const suffix = `-a${attempt}`;
  return `${base.slice(0, NAME_LENGTH - suffix.length)}${suffix}`;
}

/**
 * `StartExecution` on the large-file state machine over the AWS SDK, named
 * after the object version (`executionName`). When that name exists, the
 * execution is looked up: still running means a duplicate delivery (success,
 * nothing started); ended means the run failed or was stopped (a finished run
 * leaves an output the job skips before it gets here), so the next attempt
 * number is started: a redelivery, a re-upload or a reindex restarts a failed
 * run, and shards it finished are not embedded again.
 */
export function sfnLargeFileRunStarter(
  client: Pick<SFNClient, 'send'>,
  stateMachineArn: string,
): LargeFileRunStarter {
  if (!/^arn:aws[a-z-]*:states:[^:]*:\d{12}:stateMachine:[A-Za-z0-9_-]+$/.test(stateMachineArn)) {
    throw new ConfigError(`Expected a Step Functions state machine ARN, got ${stateMachineArn}`);
  }
  return async (input) => {
    const base = executionName(input.bucket, input.key, input.etag);
    for (let attempt = 1; attempt <= MAX_RUN_ATTEMPTS; attempt++) {
      const name = attemptName(base, attempt);
      const executionArn = executionArnOf(stateMachineArn, name);
      try {
        const response = await client.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return { executionArn: response.executionArn ?? executionArn, name, alreadyStarted: false };
      } catch (error) {
        if (!(error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists'))
          throw error;
      }
      const { status } = await client.send(new DescribeExecutionCommand({ executionArn }));
      if (status === 'RUNNING' || status === 'PENDING_REDRIVE')
        return { executionArn, name, alreadyStarted: true };
    }
    throw new EmbedBatchError(
      `s3://${input.bucket}/${input.key}: ${MAX_RUN_ATTEMPTS} distributed runs of this version ended without an output; see the state machine's executions named ${base}*`,
    );
  };
}

/** `arn:...:stateMachine:M` -> `arn:...:execution:M:<name>`. */
function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
