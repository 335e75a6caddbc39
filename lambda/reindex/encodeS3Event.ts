import type { S3Event } from 'aws-lambda';

/** The object a notification is made for: what a bucket listing tells about it. */
export interface S3ObjectVersion {
  readonly bucket: string;
  /** The real key (not encoded). */
  readonly key: string;
  /** ETag without quotes, as listings (after `S3Store`) and notifications carry it. */
  readonly etag?: string;
  readonly size: number;
}

/** Where and when the notification says it comes from. */
export interface EncodeS3EventOptions {
  /** `awsRegion` of the record. @default process.env.AWS_REGION, else 'us-east-1' */
  readonly region?: string;
  /** `eventTime`. @default new Date() */
  readonly eventTime?: Date;
  /**
   * `s3.configurationId`, which names the notification configuration on
   * AWS; here it tells in logs and dead-letter queues who sent the message.
   * @default 'embed-batch-reindex'
   */
  readonly configurationId?: string;
}

/**
 * Encodes a key the way S3 writes it into event notifications: form encoding
 * (space as `+`, UTF-8 bytes as `%XX`, `+` itself as `%2B`, `!'()~` escaped
 * too) with `/` kept. `decodeS3Key` reverses it.
 */
export function encodeS3Key(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment)
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, '+'),
    )
    .join('/');
}

/**
 * An S3 `ObjectCreated:Put` notification for one object, with every field
 * AWS sends (event version 2.1), so a message carrying it is decoded by the
 * job exactly like one S3 sent: `JSON.stringify` it into an SQS body.
 */
export function encodeS3Event(object: S3ObjectVersion, options: EncodeS3EventOptions = {}): S3Event {
  const eventTime = options.eventTime ?? new Date();
  const identity = 'embed-batch-reindex';
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
        eventTime: eventTime.toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: identity },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': identity, 'x-amz-id-2': identity },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: options.configurationId ?? identity,
          bucket: {
            name: object.bucket,
            ownerIdentity: { principalId: identity },
            arn: `arn:aws:s3:::${object.bucket}`,
          },
          object: {
            key: encodeS3Key(object.key),
            size: object.size,
            eTag: object.etag ?? '',
            // S3 orders events of one key by this hex string; ours sort by time.
            sequencer: eventTime.getTime().toString(16).toUpperCase().padStart(16, '0'),
          },
        },
      },
    ],
  };
}
