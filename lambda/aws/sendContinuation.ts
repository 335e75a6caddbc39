import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeS3Event } from '../reindex/encodeS3Event.ts';
import type { S3ObjectRef } from './decodeS3Event.ts';

/** Queues a job again, to go on from its checkpoint in a fresh invocation. */
export type ContinuationSender = (object: S3ObjectRef) => Promise<void>;

/** `configurationId` of continuation messages, so logs and dead-letter queues tell them from uploads. */
export const CONTINUATION_ID = 'embed-batch-continuation';

/**
 * Sends the object's S3 notification to the job's own queue (`QUEUE_URL`):
 * a new message, so its receive count starts at zero and a job that needs
 * many invocations never reaches the dead-letter queue for lack of time.
 */
export function sqsContinuationSender(client: SQSClient, queueUrl: string): ContinuationSender {
  return async (object) => {
    const event = encodeS3Event(
      { bucket: object.bucket, key: object.key, etag: object.etag, size: object.size ?? 0 },
      { configurationId: CONTINUATION_ID },
    );
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }));
  };
}
