import { describe, expect, it } from 'vitest';
import { decodeS3Event, decodeS3Key } from '../../lambda/aws/decodeS3Event.ts';
import { encodeS3Key } from '../../lambda/reindex/encodeS3Event.ts';
import { s3Event, s3Record, s3TestEventBody, sqsEvent, sqsS3Message } from '../helpers/events.ts';

describe('Function: decodeS3Key', () => {
  it.each([
    ['input/a+b.csv', 'input/a b.csv'],
    ['input/a%2Bb.csv', 'input/a+b.csv'],
    ['input/%C3%BC+%E6%9D%B1%E4%BA%AC.csv', 'input/ü 東京.csv'],
    ['input/100%25.csv', 'input/100%.csv'],
  ])('decodes %s as %s', (encoded, key) => {
    // Act & Assess
    expect(decodeS3Key(encoded)).toBe(key);
  });

  it('round-trips the keys the event builder encodes as S3 does', () => {
    // Prepare
    const keys = ["input/x y+z/ä ö (1) & 'q'!~*.csv", 'input/%41 50%.jsonl', 'input/emoji 😀.ndjson'];

    // Act & Assess
    for (const key of keys) expect(decodeS3Key(encodeS3Key(key))).toBe(key);
    expect(encodeS3Key('input/a b+c.csv')).toBe('input/a+b%2Bc.csv');
  });
});

describe('Function: decodeS3Event', () => {
  it('decodes SQS messages whose bodies are S3 notifications, several records each', () => {
    // Prepare
    const event = sqsEvent(
      sqsS3Message(
        [
          { bucket: 'b', key: 'input/a b.csv', etag: 'e1', size: 10 },
          { bucket: 'b', key: 'input/c+d.csv', etag: 'e2', size: 20 },
        ],
        'm1',
      ),
      sqsS3Message([{ bucket: 'b', key: 'input/ü.jsonl', etag: 'e3', size: 30 }], 'm2'),
    );

    // Act
    const decoded = decodeS3Event(event);

    // Assess
    expect(decoded.source).toBe('sqs');
    expect(decoded.messages.map((m) => [m.messageId, m.objects.map((o) => o.key)])).toEqual([
      ['m1', ['input/a b.csv', 'input/c+d.csv']],
      ['m2', ['input/ü.jsonl']],
    ]);
    expect(decoded.messages[0]?.objects[0]).toEqual({
      bucket: 'b',
      key: 'input/a b.csv',
      etag: 'e1',
      size: 10,
      eventName: 'ObjectCreated:Put',
    });
  });

  it('ignores s3:TestEvent bodies and events other than ObjectCreated', () => {
    // Prepare
    const event = sqsEvent(
      { body: s3TestEventBody('b'), messageId: 't' },
      sqsS3Message([{ bucket: 'b', key: 'input/x.csv', eventName: 'ObjectRemoved:Delete' }], 'r'),
    );

    // Act
    const decoded = decodeS3Event(event);

    // Assess
    expect(decoded.messages).toEqual([
      { messageId: 't', objects: [], ignored: ['s3:TestEvent'] },
      { messageId: 'r', objects: [], ignored: ['ObjectRemoved:Delete for s3://b/input/x.csv'] },
    ]);
  });

  it('unwraps an SNS envelope between S3 and SQS', () => {
    // Prepare
    const notification = s3Event({ bucket: 'b', key: 'input/sns key.csv' });
    const event = sqsEvent({
      body: { Type: 'Notification', Message: JSON.stringify(notification) },
      messageId: 's',
    });

    // Act
    const decoded = decodeS3Event(event);

    // Assess
    expect(decoded.messages[0]?.objects.map((o) => o.key)).toEqual(['input/sns key.csv']);
  });

  it('marks undecodable messages as failed instead of throwing', () => {
    // Prepare
    const badKey = s3Record({ bucket: 'b', key: 'x' });
    const event = sqsEvent(
      { body: 'not json', messageId: 'a' },
      { body: { hello: 'world' }, messageId: 'b' },
      {
        body: {
          Records: [{ ...badKey, s3: { ...badKey.s3, object: { ...badKey.s3.object, key: '%E0%A4%A' } } }],
        },
        messageId: 'c',
      },
    );

    // Act
    const decoded = decodeS3Event(event);

    // Assess
    expect(decoded.messages.map((m) => [m.messageId, m.error])).toEqual([
      ['a', 'the SQS message body is not JSON'],
      ['b', 'the SQS message body is not an S3 notification (no Records array)'],
      ['c', 'the object key "%E0%A4%A" is not validly URL-encoded'],
    ]);
  });

  it('decodes a plain S3 event one record per message, without message ids', () => {
    // Prepare
    const event = s3Event(
      { bucket: 'b', key: 'input/1.csv', etag: '"quoted"' },
      { bucket: 'b', key: 'input/2.csv' },
    );

    // Act
    const decoded = decodeS3Event(event);

    // Assess
    expect(decoded.source).toBe('s3');
    expect(decoded.messages.map((m) => [m.messageId, m.objects[0]?.key, m.objects[0]?.etag])).toEqual([
      [undefined, 'input/1.csv', 'quoted'],
      [undefined, 'input/2.csv', undefined],
    ]);
  });

  it('throws for an event that is neither SQS nor S3', () => {
    // Act & Assess
    expect(() => decodeS3Event({ detail: {} })).toThrow('unsupported event');
    expect(() => decodeS3Event({ Records: [{ eventSource: 'aws:sns' }] })).toThrow(
      'unsupported event source',
    );
  });
});
