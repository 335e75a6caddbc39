import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeS3Event, decodeS3Key } from '../../lambda/aws/decodeS3Event.ts';
import { encodeS3Event, encodeS3Key } from '../../lambda/reindex/encodeS3Event.ts';
import { s3Record, sqsEvent } from '../helpers/events.ts';

const OBJECT = {
  bucket: 'embed-batch-data',
  key: 'input/x.csv',
  etag: '9b2cf535f27731c974343645a3985328',
  size: 42,
};

describe('Function: encodeS3Event', () => {
  it('writes an ObjectCreated:Put record with every field S3 sends', () => {
    // Act
    const event = encodeS3Event(OBJECT, {
      region: 'eu-central-1',
      eventTime: new Date('2025-01-02T03:04:05Z'),
    });

    // Assess: the same shape, field for field, as the recorded S3 event the job's tests use.
    const reference = s3Record({ ...OBJECT });
    expect(event.Records).toHaveLength(1);
    const [record] = event.Records;
    expect(Object.keys(record ?? {}).sort()).toEqual(Object.keys(reference).sort());
    expect(Object.keys(record?.s3 ?? {}).sort()).toEqual(Object.keys(reference.s3).sort());
    expect(Object.keys(record?.s3.object ?? {}).sort()).toEqual(Object.keys(reference.s3.object).sort());
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-central-1',
      eventTime: '2025-01-02T03:04:05.000Z',
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'embed-batch-reindex',
        bucket: { name: 'embed-batch-data', arn: 'arn:aws:s3:::embed-batch-data' },
        object: { key: 'input/x.csv', size: 42, eTag: OBJECT.etag },
      },
    });
  });

  it.each([
    ['input/a b.csv', 'input/a+b.csv'],
    ['input/a+b.csv', 'input/a%2Bb.csv'],
    ['input/grüße/東京.jsonl', 'input/gr%C3%BC%C3%9Fe/%E6%9D%B1%E4%BA%AC.jsonl'],
    ["input/it's (1)!~*.csv", 'input/it%27s+%281%29%21%7E*.csv'],
    ['input/100%.csv', 'input/100%25.csv'],
  ])('encodes the key %j as S3 does: %j', (key, encoded) => {
    expect(encodeS3Key(key)).toBe(encoded);
  });

  it('round-trips through decodeS3Event in an SQS body, as the job receives it', () => {
    // Prepare
    const keys = ['input/x.csv', 'input/catalog 2024/ü+products.csv', 'input/100% (final)!.jsonl.gz'];

    // Act
    const decoded = decodeS3Event(
      sqsEvent(
        ...keys.map((key, i) => ({
          body: JSON.stringify(encodeS3Event({ ...OBJECT, key })),
          messageId: `m-${i}`,
        })),
      ),
    );

    // Assess
    expect(decoded.source).toBe('sqs');
    expect(decoded.messages).toEqual(
      keys.map((key, i) => ({
        messageId: `m-${i}`,
        objects: [
          {
            bucket: OBJECT.bucket,
            key,
            etag: OBJECT.etag,
            size: OBJECT.size,
            eventName: 'ObjectCreated:Put',
          },
        ],
        ignored: [],
      })),
    );
  });

  it('round-trips any key through decodeS3Event', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), fc.nat(), (key, size) => {
        const decoded = decodeS3Event(encodeS3Event({ bucket: 'b-1', key, etag: 'abc', size }));
        expect(decoded.messages[0]?.objects).toEqual([
          { bucket: 'b-1', key, etag: 'abc', size, eventName: 'ObjectCreated:Put' },
        ]);
        expect(decodeS3Key(encodeS3Key(key))).toBe(key);
      }),
    );
  });

  it('leaves the ETag out of the decoded object when the listing had none', () => {
    // Act
    const decoded = decodeS3Event(encodeS3Event({ bucket: 'b-1', key: 'input/x.csv', size: 0 }));

    // Assess
    expect(decoded.messages[0]?.objects[0]?.etag).toBeUndefined();
  });
});
