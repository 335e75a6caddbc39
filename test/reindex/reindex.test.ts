import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler, type EmbedHandler } from '../../lambda/aws/createHandler.ts';
import { decodeS3Event } from '../../lambda/aws/decodeS3Event.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { createReindexHandler, type ReindexHandler } from '../../lambda/reindex/createReindexHandler.ts';
import { sqsBatchSender } from '../../lambda/reindex/enqueueStale.ts';
import { loadReindexConfig } from '../../lambda/reindex/loadReindexConfig.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import type { Manifest } from '../../lambda/write/Manifest.ts';
import { readManifest } from '../../lambda/write/OutputFolder.ts';
import { failures, lambdaContext, type S3ObjectSpec, sqsEvent, sqsS3Message } from '../helpers/events.ts';
import { createLocalQueue, type LocalQueue } from '../helpers/localQueue.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from '../lambda/captureOutput.ts';

const MODEL = 'local/feature-hash';
const OLD_MODEL = 'old/feature-hash';
const DIMENSIONS = 16;

function csv(prefix: string, count: number): string {
  const rows = Array.from({ length: count }, (_, i) => `${prefix}-${i},"${prefix} text ${i}, with a comma"`);
  return `id,text\n${rows.join('\n')}\n`;
}

describe('Function: reindex (scheduled), against local S3 and SQS', () => {
  let s3: LocalS3;
  let server: LocalServer;
  let output: CapturedOutput;
  const queues: LocalQueue[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    server = await startLocalServer({ dimensions: DIMENSIONS, models: [MODEL, OLD_MODEL] });
  });

  afterAll(async () => {
    for (const queue of queues) queue.stop();
    await server?.close();
    await s3?.stop();
  });

  beforeEach(() => {
    output = captureOutput();
  });

  afterEach(() => {
    output.restore();
  });

  /** The job's environment, as the stack gives it to both functions. */
  function jobEnv(inputPrefix: string, model = MODEL): Record<string, string> {
    return {
      EMBEDDINGS_BASE_URL: server.url,
      EMBEDDINGS_MODEL: model,
      INPUT_PREFIX: inputPrefix,
      OUTPUT_PREFIX: 'output/',
      EMBED_BATCH_SIZE: '16',
    };
  }

  /** The real job handler, as one container builds it; no secret (the local endpoint needs no token). */
  function jobHandler(inputPrefix: string, model = MODEL): EmbedHandler {
    return createHandler({
      config: loadConfig(jobEnv(inputPrefix, model)),
      store: new S3Store(s3.client),
      readSecret: async () => {
        throw new Error('no secret in this test');
      },
    });
  }

  function reindexHandler(bucket: string, inputPrefix: string, queue: LocalQueue): ReindexHandler {
    return createReindexHandler({
      config: loadReindexConfig({
        ...jobEnv(inputPrefix),
        BUCKET: bucket,
        QUEUE_URL: queue.queueUrl,
        AWS_REGION: 'eu-central-1',
      }),
      store: new S3Store(s3.client),
      sendBatch: sqsBatchSender(queue.client),
    });
  }

  async function embed(handler: EmbedHandler, object: S3ObjectSpec): Promise<void> {
    expect(failures(await handler(sqsEvent(sqsS3Message([object])), lambdaContext()))).toEqual([]);
  }

  async function upload(bucket: string, key: string, body: string): Promise<S3ObjectSpec> {
    return { bucket, key, ...(await s3.putObject(bucket, key, body)) };
  }

  async function manifestOf(bucket: string, outputDir: string): Promise<Manifest | undefined> {
    return readManifest(new S3Store(s3.client), `s3://${bucket}/${outputDir}`);
  }

  /** The received messages as the SQS event source hands them to the job. */
  function deliver(messages: readonly Message[]) {
    return sqsEvent(...messages.map((message) => ({ body: message.Body, messageId: message.MessageId })));
  }

  /** The keys and ETags the messages' S3 notifications name, by key. */
  function notified(messages: readonly Message[]): { key: string; etag?: string }[] {
    return decodeS3Event(deliver(messages))
      .messages.flatMap((message) => message.objects.map(({ key, etag }) => ({ key, etag })))
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  it.each([
    ['the stack’s layout (INPUT_PREFIX input/)', 'reindex-input', 'input/'],
    ['the whole bucket as input (INPUT_PREFIX empty), outputs listed too', 'reindex-whole', ''],
  ])(
    'with %s: enqueues exactly the stale inputs, which the job then completes',
    async (_name, bucket, inputPrefix) => {
      // Prepare: one input of each kind.
      await s3.createBucket(bucket);
      const queue = await createLocalQueue(s3.endpoint, `${bucket}-jobs`);
      queues.push(queue);
      const job = jobHandler(inputPrefix);
      const key = (name: string) => `${inputPrefix}${name}`;
      const outputOf = (name: string) => `output/${name}/`;

      const current = await upload(bucket, key('current.csv'), csv('cur', 5));
      await embed(job, current);
      await embed(job, await upload(bucket, key('changed.csv'), csv('old', 3)));
      const changed = await upload(bucket, key('changed.csv'), csv('new', 4));
      const otherModel = await upload(bucket, key('other model.csv'), csv('om', 2));
      await embed(jobHandler(inputPrefix, OLD_MODEL), otherModel);
      const fresh = await upload(
        bucket,
        key('new files/ä+b c.jsonl'),
        '{"id":"n1","text":"neu"}\n{"id":"n2","text":"new"}\n',
      );
      await upload(bucket, key('notes.txt'), 'not an input');
      await upload(bucket, 'output/stray.csv', csv('stray', 1));
      const listed = (await s3.listKeys(bucket, inputPrefix)).length;
      expect((await manifestOf(bucket, outputOf('other model.csv')))?.model).toBe(OLD_MODEL);

      // Act
      const result = await reindexHandler(bucket, inputPrefix, queue)({}, lambdaContext(300_000));

      // Assess: the three stale ones, nothing else.
      expect(result).toEqual({ listed, upToDate: 1, enqueued: 3, failed: 0 });
      const messages = await queue.drain();
      expect(notified(messages)).toEqual(
        [
          { key: changed.key, etag: changed.etag },
          { key: fresh.key, etag: fresh.etag },
          { key: otherModel.key, etag: otherModel.etag },
        ].sort((a, b) => a.key.localeCompare(b.key)),
      );
      const summary = output.json().find((line) => line.message === 'reindex');
      expect(summary).toMatchObject({
        listed,
        upToDate: 1,
        enqueued: 3,
        failed: 0,
        stale: 3,
        ignored: listed - 4,
        reasons: { 'source changed': 1, 'no complete output': 1, [`output made with model ${OLD_MODEL}`]: 1 },
      });

      // Act: the job receives the messages as the event source would deliver them.
      const response = await job(deliver(messages), lambdaContext());

      // Assess: every input's output is complete and current.
      expect(failures(response)).toEqual([]);
      for (const [object, folder, rows] of [
        [current, 'current.csv', 5],
        [changed, 'changed.csv', 4],
        [otherModel, 'other model.csv', 2],
        [fresh, 'new files/ä+b c.jsonl', 2],
      ] as const) {
        expect(await manifestOf(bucket, outputOf(folder)), folder).toMatchObject({
          source: { uri: `s3://${bucket}/${object.key}`, etag: object.etag },
          model: MODEL,
          dimensions: DIMENSIONS,
          format: 'parquet',
          rows,
        });
      }

      // Act: the next run.
      const again = await reindexHandler(bucket, inputPrefix, queue)({}, lambdaContext(300_000));

      // Assess: nothing left to do.
      expect(again).toMatchObject({ upToDate: 4, enqueued: 0, failed: 0 });
      expect(await queue.drain()).toEqual([]);
    },
  );
});
