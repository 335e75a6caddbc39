import type {
  BatchResultErrorEntry,
  SendMessageBatchCommandInput,
  SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { decodeS3Event } from '../../lambda/aws/decodeS3Event.ts';
import type { S3ObjectVersion } from '../../lambda/reindex/encodeS3Event.ts';
import { EnqueueError, enqueueStale, type SendMessageBatch } from '../../lambda/reindex/enqueueStale.ts';

const QUEUE_URL = 'https://sqs.eu-central-1.amazonaws.com/123456789012/jobs';

function objects(count: number): S3ObjectVersion[] {
  return Array.from({ length: count }, (_, i) => ({
    bucket: 'data',
    key: `input/file ${i}.csv`,
    etag: `etag-${i}`,
    size: i,
  }));
}

async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/**
 * A SendMessageBatch that records each call and refuses the entries whose key
 * `refuse` returns an error for (given the key and the how-many-th attempt at it).
 */
function scriptedSender(
  refuse: (key: string, attempt: number) => Omit<BatchResultErrorEntry, 'Id'> | undefined = () => undefined,
): { send: SendMessageBatch; calls: SendMessageBatchCommandInput[]; accepted: string[] } {
  const calls: SendMessageBatchCommandInput[] = [];
  const accepted: string[] = [];
  const attempts = new Map<string, number>();
  const send: SendMessageBatch = async (input) => {
    calls.push(input);
    const output: SendMessageBatchCommandOutput = { Successful: [], Failed: [], $metadata: {} };
    for (const entry of input.Entries ?? []) {
      const key = decodeS3Event(JSON.parse(entry.MessageBody ?? '')).messages[0]?.objects[0]?.key ?? '';
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const error = refuse(key, attempt);
      if (error === undefined) {
        accepted.push(key);
        output.Successful?.push({ Id: entry.Id, MessageId: `m-${key}`, MD5OfMessageBody: '' });
      } else {
        output.Failed?.push({ Id: entry.Id, ...error });
      }
    }
    return output;
  };
  return { send, calls, accepted };
}

describe('Function: enqueueStale', () => {
  it('sends one S3 notification per object, ten to a call, in order', async () => {
    // Prepare
    const sender = scriptedSender();
    const items = objects(23);

    // Act
    const result = await enqueueStale(stream(items), { queueUrl: QUEUE_URL, sendBatch: sender.send });

    // Assess
    expect(result).toEqual({ enqueued: 23, failed: 0, failures: [] });
    expect(sender.calls.map((call) => call.Entries?.length)).toEqual([10, 10, 3]);
    expect(sender.calls.every((call) => call.QueueUrl === QUEUE_URL)).toBe(true);
    expect(sender.accepted).toEqual(items.map((item) => item.key));
    const first = decodeS3Event(JSON.parse(sender.calls[0]?.Entries?.[0]?.MessageBody ?? ''));
    expect(first.messages[0]?.objects).toEqual([
      { bucket: 'data', key: 'input/file 0.csv', etag: 'etag-0', size: 0, eventName: 'ObjectCreated:Put' },
    ]);
    for (const call of sender.calls) {
      const ids = call.Entries?.map((entry) => entry.Id);
      expect(new Set(ids).size).toBe(ids?.length);
    }
  });

  it('makes no call for nothing stale', async () => {
    const sender = scriptedSender();
    expect(await enqueueStale(stream([]), { queueUrl: QUEUE_URL, sendBatch: sender.send })).toEqual({
      enqueued: 0,
      failed: 0,
      failures: [],
    });
    expect(sender.calls).toEqual([]);
  });

  it('sends refused entries once more in a call of their own', async () => {
    // Prepare: two entries refused once by a passing fault.
    const sender = scriptedSender((key, attempt) =>
      attempt === 1 && (key.endsWith(' 3.csv') || key.endsWith(' 7.csv'))
        ? { Code: 'InternalError', SenderFault: false, Message: 'try again' }
        : undefined,
    );

    // Act
    const result = await enqueueStale(stream(objects(10)), { queueUrl: QUEUE_URL, sendBatch: sender.send });

    // Assess
    expect(result).toEqual({ enqueued: 10, failed: 0, failures: [] });
    expect(sender.calls.map((call) => call.Entries?.length)).toEqual([10, 2]);
  });

  it('reports entries refused twice, and sender faults at once, without throwing', async () => {
    // Prepare
    const sender = scriptedSender((key) => {
      if (key.endsWith(' 1.csv')) return { Code: 'InternalError', SenderFault: false, Message: 'down' };
      if (key.endsWith(' 2.csv')) return { Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad' };
      return undefined;
    });

    // Act
    const result = await enqueueStale(stream(objects(4)), { queueUrl: QUEUE_URL, sendBatch: sender.send });

    // Assess
    expect(result.enqueued).toBe(2);
    expect(result.failed).toBe(2);
    expect(result.failures).toEqual(
      expect.arrayContaining([
        { key: 'input/file 1.csv', code: 'InternalError', message: 'down', senderFault: false },
        { key: 'input/file 2.csv', code: 'InvalidParameterValue', message: 'bad', senderFault: true },
      ]),
    );
    // The sender fault was not sent again.
    expect(sender.calls.map((call) => call.Entries?.length)).toEqual([4, 1]);
  });

  it('counts every failure but keeps the reasons of the first maxReportedFailures', async () => {
    // Prepare
    const sender = scriptedSender(() => ({ Code: 'InternalError', SenderFault: false, Message: 'down' }));

    // Act
    const result = await enqueueStale(stream(objects(25)), {
      queueUrl: QUEUE_URL,
      sendBatch: sender.send,
      maxReportedFailures: 3,
    });

    // Assess
    expect(result.enqueued).toBe(0);
    expect(result.failed).toBe(25);
    expect(result.failures).toHaveLength(3);
  });

  it('throws an EnqueueError with the count sent so far when a whole call fails', async () => {
    // Prepare
    let calls = 0;
    const sendBatch: SendMessageBatch = async (input) => {
      calls++;
      if (calls === 2)
        throw Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
      return {
        Successful: (input.Entries ?? []).map((entry) => ({
          Id: entry.Id,
          MessageId: 'm',
          MD5OfMessageBody: '',
        })),
        Failed: [],
        $metadata: {},
      };
    };

    // Act
    const error = await enqueueStale(stream(objects(15)), { queueUrl: QUEUE_URL, sendBatch }).catch(
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toBeInstanceOf(EnqueueError);
    expect((error as EnqueueError).enqueued).toBe(10);
    expect((error as EnqueueError).message).toMatch(/queue does not exist/);
    expect((error as EnqueueError).cause).toMatchObject({ name: 'QueueDoesNotExist' });
  });
});
