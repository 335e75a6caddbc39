import { EmbedBatchError } from '../errors.ts';

/** One object named by an S3 notification, its key decoded. */
export interface S3ObjectRef {
  readonly bucket: string;
  /** The real key (`+` and `%XX` decoded). */
  readonly key: string;
  /** ETag as the event carries it (no quotes); '' or undefined when absent. */
  readonly etag?: string;
  readonly size?: number;
  /** e.g. `ObjectCreated:Put`. */
  readonly eventName: string;
}

/**
 * One unit of success or failure: an SQS message (which may carry several S3
 * records), or one record of a plain S3 event.
 */
export interface DecodedMessage {
  /** The SQS message id, reported back in `batchItemFailures`; undefined for a plain S3 event. */
  readonly messageId?: string;
  /** Objects created, in event order. */
  readonly objects: readonly S3ObjectRef[];
  /** Why the message could not be read; it then fails (and ends in the dead-letter queue). */
  readonly error?: string;
  /** Records that are no work for us (test events, deletions), with why; for the log. */
  readonly ignored: readonly string[];
}

/** An invocation's event, decoded. */
export interface DecodedEvent {
  /** `sqs`: answer with `batchItemFailures`; `s3`: throw on failure. */
  readonly source: 'sqs' | 's3';
  readonly messages: readonly DecodedMessage[];
}

/**
 * Decodes the two events the function receives: an SQS batch whose bodies are
 * S3 notifications (the deployed path; an SNS envelope in between is
 * unwrapped too), and a plain S3 notification event. `s3:TestEvent` bodies
 * and non-`ObjectCreated` records are ignored, not failed.
 *
 * @throws EmbedBatchError when the event is neither shape (a wiring mistake, not a data problem).
 */
export function decodeS3Event(event: unknown): DecodedEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) {
    throw new EmbedBatchError('unsupported event: expected an SQS or S3 event with a Records array');
  }
  const first = records[0] as { eventSource?: unknown; EventSource?: unknown } | undefined;
  if (first?.eventSource === 'aws:sqs') {
    return { source: 'sqs', messages: records.map(decodeSqsRecord) };
  }
  if (records.length === 0 || first?.eventSource === 'aws:s3') {
    return { source: 's3', messages: records.map((record) => decodeS3Records([record])) };
  }
  throw new EmbedBatchError(
    `unsupported event source ${JSON.stringify(first?.eventSource ?? first?.EventSource)}: expected aws:sqs or aws:s3`,
  );
}

/**
 * Decodes a key as S3 writes it into notifications: form-encoded, so `+` is a
 * space and must be turned back before `%XX` (a real `+` arrives as `%2B`).
 *
 * @throws URIError on a malformed `%` sequence.
 */
export function decodeS3Key(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

function decodeSqsRecord(record: unknown): DecodedMessage {
  const { messageId, body } = record as { messageId?: unknown; body?: unknown };
  const id = typeof messageId === 'string' ? messageId : undefined;
  if (typeof body !== 'string') return failed(id, 'the SQS message has no body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return failed(id, 'the SQS message body is not JSON');
  }
  // S3 -> SNS -> SQS (without raw delivery) wraps the notification once more.
  const envelope = parsed as { Type?: unknown; Message?: unknown };
  if (envelope?.Type === 'Notification' && typeof envelope.Message === 'string') {
    try {
      parsed = JSON.parse(envelope.Message);
    } catch {
      return failed(id, 'the SNS message inside the SQS body is not JSON');
    }
  }
  const notification = parsed as { Event?: unknown; Records?: unknown } | null;
  if (notification?.Event === 's3:TestEvent') {
    return { messageId: id, objects: [], ignored: ['s3:TestEvent'] };
  }
  if (!Array.isArray(notification?.Records)) {
    return failed(id, 'the SQS message body is not an S3 notification (no Records array)');
  }
  return { ...decodeS3Records(notification.Records), messageId: id };
}

function decodeS3Records(records: readonly unknown[]): DecodedMessage {
  const objects: S3ObjectRef[] = [];
  const ignored: string[] = [];
  for (const record of records) {
    const { eventName, eventSource, s3 } = record as {
      eventName?: unknown;
      eventSource?: unknown;
      s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; eTag?: unknown; size?: unknown } };
    };
    const bucket = s3?.bucket?.name;
    const rawKey = s3?.object?.key;
    if (eventSource !== 'aws:s3' || typeof bucket !== 'string' || typeof rawKey !== 'string') {
      return failed(undefined, 'an S3 record lacks eventSource aws:s3, a bucket name or an object key');
    }
    const name = typeof eventName === 'string' ? eventName : '';
    if (!name.startsWith('ObjectCreated:')) {
      ignored.push(`${name || 'an event without a name'} for s3://${bucket}/${rawKey}`);
      continue;
    }
    let key: string;
    try {
      key = decodeS3Key(rawKey);
    } catch {
      return failed(undefined, `the object key ${JSON.stringify(rawKey)} is not validly URL-encoded`);
    }
    const etag = typeof s3?.object?.eTag === 'string' ? s3.object.eTag.replace(/^"|"$/g, '') : undefined;
    const size = typeof s3?.object?.size === 'number' ? s3.object.size : undefined;
    objects.push({ bucket, key, etag: etag === '' ? undefined : etag, size, eventName: name });
  }
  return { objects, ignored };
}

function failed(messageId: string | undefined, error: string): DecodedMessage {
  return { messageId, objects: [], error, ignored: [] };
}
