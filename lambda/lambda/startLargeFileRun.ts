import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConfigError } from '../errors.ts';

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

/**
 * `StartExecution` on the large-file state machine over the AWS SDK, with
 * the name from `executionName`. `ExecutionAlreadyExists` is success: the run
 * of this version was started before (it may be running, or done).
 */
export function sfnLargeFileRunStarter(
  client: Pick<SFNClient, 'send'>,
  stateMachineArn: string,
): LargeFileRunStarter {
  if (!/^arn:aws[a-z-]*:states:[^:]*:\d{12}:stateMachine:[A-Za-z0-9_-]+$/.test(stateMachineArn)) {
    throw new ConfigError(`Expected a Step Functions state machine ARN, got ${stateMachineArn}`);
  }
  return async (input) => {
    const name = executionName(input.bucket, input.key, input.etag);
    try {
      const response = await client.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return {
        executionArn: response.executionArn ?? executionArnOf(stateMachineArn, name),
        name,
        alreadyStarted: false,
      };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
        return { executionArn: executionArnOf(stateMachineArn, name), name, alreadyStarted: true };
      }
      throw error;
    }
  };
}

/** `arn:...:stateMachine:M` -> `arn:...:execution:M:<name>`. */
function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}
