import { createHash, randomUUID } from 'node:crypto';
import type { Context, S3Event, S3EventRecord, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
// The encoding itself is pinned against S3's own examples in test/reindex/encodeS3Event.test.ts.
import { encodeS3Key } from '../../lambda/reindex/encodeS3Event.ts';

/** One object in an S3 notification. */
export interface S3ObjectSpec {
  readonly bucket: string;
  /** The real key; the helper encodes it as S3 does. */
  readonly key: string;
  readonly etag?: string;
  readonly size?: number;
  /** @default 'ObjectCreated:Put' */
  readonly eventName?: string;
}

/** An S3 event record with every field AWS sends (version 2.1). */
export function s3Record(spec: S3ObjectSpec): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-central-1',
    eventTime: new Date().toISOString(),
    eventName: (spec.eventName ?? 'ObjectCreated:Put') as S3EventRecord['eventName'],
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': 'C3D13FE58DE4C810',
      'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'embed-batch-input',
      bucket: {
        name: spec.bucket,
        ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
        arn: `arn:aws:s3:::${spec.bucket}`,
      },
      object: {
        key: encodeS3Key(spec.key),
        size: spec.size ?? 0,
        eTag: spec.etag ?? '',
        sequencer: '0055AED6DCD90281E5',
      },
    },
  };
}

/** A plain S3 notification event (S3 invoking the function directly). */
export function s3Event(...objects: S3ObjectSpec[]): S3Event {
  return { Records: objects.map(s3Record) };
}

/** The body S3 sends once when a notification configuration is saved. */
export function s3TestEventBody(bucket: string): Record<string, string> {
  return {
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date().toISOString(),
    Bucket: bucket,
    RequestId: '5582815E1AEA5ADF',
    HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
  };
}

/** One SQS message; `body` objects are JSON-encoded as S3 does. */
export interface SqsMessageSpec {
  readonly body: unknown;
  /** @default a random UUID */
  readonly messageId?: string;
  /** @default 1 */
  readonly receiveCount?: number;
}

/** An SQS record with every field Lambda's event source mapping sends. */
export function sqsRecord(spec: SqsMessageSpec): SQSRecord {
  const body = typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
  const now = String(Date.now());
  return {
    messageId: spec.messageId ?? randomUUID(),
    receiptHandle: `AQEB${randomUUID().replace(/-/g, '')}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(spec.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:embed-batch-input',
    awsRegion: 'eu-central-1',
  };
}

/** An SQS event; each message body is given as is (an S3 event, a test event, or a raw string). */
export function sqsEvent(...messages: SqsMessageSpec[]): SQSEvent {
  return { Records: messages.map(sqsRecord) };
}

/** An SQS message whose body is the S3 notification of the given objects (the deployed path). */
export function sqsS3Message(objects: S3ObjectSpec[], messageId?: string): SqsMessageSpec {
  return { body: s3Event(...objects), messageId };
}

/**
 * A Lambda context whose remaining time counts down from `remainingMs` on the
 * real clock, as Lambda's does.
 */
export function lambdaContext(remainingMs = 900_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'embed-batch',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:embed-batch',
    memoryLimitInMB: '1769',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/embed-batch',
    logStreamName: '2025/01/01/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The message ids a partial batch response reports as failed. */
export function failures(response: SQSBatchResponse | undefined): string[] {
  return (response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier);
}
