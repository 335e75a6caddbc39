import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { EmbedBatchError } from '../errors.ts';
import { type EncodeS3EventOptions, encodeS3Event, type S3ObjectVersion } from './encodeS3Event.ts';

/** One SendMessageBatch call: the port `enqueueStale` sends through. */
export type SendMessageBatch = (
  input: SendMessageBatchCommandInput,
) => Promise<SendMessageBatchCommandOutput>;

/** The real port over an SQS client. The SDK's own retries (throttling, 5xx, network) apply to each call. */
export function sqsBatchSender(client: SQSClient): SendMessageBatch {
  return (input) => client.send(new SendMessageBatchCommand(input));
}

/** An object SQS would not take, after the retry. */
export interface EnqueueFailure {
  readonly key: string;
  /** SQS's error code, e.g. `InternalError`. */
  readonly code: string;
  readonly message: string;
  /** SQS blames the message, not itself: sending it again would fail the same way, so it was not retried. */
  readonly senderFault: boolean;
}

/** How `enqueueStale` ended. */
export interface EnqueueResult {
  /** Messages SQS accepted. */
  readonly enqueued: number;
  /** Objects SQS did not accept. */
  readonly failed: number;
  /** The first `maxReportedFailures` of them, with SQS's reasons. */
  readonly failures: readonly EnqueueFailure[];
}

/** Where and how `enqueueStale` sends. */
export interface EnqueueStaleOptions {
  /** The job queue (`QUEUE_URL`). */
  readonly queueUrl: string;
  readonly sendBatch: SendMessageBatch;
  /** Passed to `encodeS3Event` for each message. */
  readonly event?: EncodeS3EventOptions;
  /** Failures kept with their reasons (all are counted). @default 20 */
  readonly maxReportedFailures?: number;
}

/** SendMessageBatch takes at most this many entries. */
export const SQS_BATCH_LIMIT = 10;

/** A SendMessageBatch call failed as a whole (after the SDK's own retries): the queue itself is unusable. */
export class EnqueueError extends EmbedBatchError {
  /** Messages accepted before the failing call. */
  readonly enqueued: number;

  constructor(message: string, enqueued: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EnqueueError';
    this.enqueued = enqueued;
  }
}

/**
 * Sends one S3 notification per object (`encodeS3Event`) to the job queue,
 * ten to a SendMessageBatch call, one call at a time, so the job decodes,
 * rate-limits and retries them exactly like uploads.
 *
 * SendMessageBatch can accept some entries and refuse others: refused
 * entries that are not the sender's fault are sent once more in a call of
 * their own; what is still refused is counted and reported, not thrown
 * (the object stays stale, so the next run offers it again).
 *
 * @throws EnqueueError when a call fails as a whole (no such queue, access denied).
 */
export async function enqueueStale(
  objects: AsyncIterable<S3ObjectVersion>,
  options: EnqueueStaleOptions,
): Promise<EnqueueResult> {
  const maxReported = options.maxReportedFailures ?? 20;
  let enqueued = 0;
  let failed = 0;
  const failures: EnqueueFailure[] = [];
  const report = (key: string, entry: BatchResultErrorEntry): void => {
    failed++;
    if (failures.length < maxReported) {
      failures.push({
        key,
        code: entry.Code ?? 'Unknown',
        message: entry.Message ?? '',
        senderFault: entry.SenderFault === true,
      });
    }
  };

  const send = async (batch: readonly { key: string; entry: SendMessageBatchRequestEntry }[]) => {
    let response: SendMessageBatchCommandOutput;
    try {
      response = await options.sendBatch({
        QueueUrl: options.queueUrl,
        Entries: batch.map(({ entry }) => entry),
      });
    } catch (error) {
      throw new EnqueueError(
        `SendMessageBatch to ${options.queueUrl} failed after ${enqueued} message(s) were enqueued: ${(error as Error).message}`,
        enqueued,
        { cause: error },
      );
    }
    enqueued += response.Successful?.length ?? 0;
    const byId = new Map(batch.map((item) => [item.entry.Id, item]));
    return (response.Failed ?? []).map((entry) => ({ entry, item: byId.get(entry.Id) }));
  };

  const flush = async (batch: { key: string; entry: SendMessageBatchRequestEntry }[]) => {
    const retry: { key: string; entry: SendMessageBatchRequestEntry }[] = [];
    for (const { entry, item } of await send(batch)) {
      if (item === undefined || entry.SenderFault === true) report(item?.key ?? `entry ${entry.Id}`, entry);
      else retry.push(item);
    }
    if (retry.length === 0) return;
    for (const { entry, item } of await send(retry)) report(item?.key ?? `entry ${entry.Id}`, entry);
  };

  let batch: { key: string; entry: SendMessageBatchRequestEntry }[] = [];
  for await (const object of objects) {
    batch.push({
      key: object.key,
      // Ids need only be unique within one call.
      entry: { Id: String(batch.length), MessageBody: JSON.stringify(encodeS3Event(object, options.event)) },
    });
    if (batch.length === SQS_BATCH_LIMIT) {
      await flush(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await flush(batch);
  return { enqueued, failed, failures };
}
