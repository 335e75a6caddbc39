import { rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../lambda/aws/createHandler.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { sqsContinuationSender } from '../../lambda/aws/sendContinuation.ts';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import { failures, lambdaContext, s3Event, sqsRecord } from '../helpers/events.ts';
import { createLocalQueue, type LocalQueue } from '../helpers/localQueue.ts';
import { readOutputFolder } from '../helpers/readOutput.ts';
import { downloadOutputFolder } from '../helpers/s3Output.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from './captureOutput.ts';

const BUCKET = 'embed-batch-continue';
const DIMENSIONS = 16;
const MODEL = 'local/feature-hash';
const ROWS = 5_000;
const BATCH = 25;
const CONCURRENCY = 2;
const WINDOW = 2 * CONCURRENCY * BATCH;

describe('Function: handler (continuation through the job queue)', () => {
  let s3: LocalS3;
  let server: LocalServer;
  let output: CapturedOutput;
  const tempDirs: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    // Slow enough that a file takes several short invocations.
    server = await startLocalServer({ dimensions: DIMENSIONS, latencyMs: 40 });
  });

  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  beforeEach(() => {
    output = captureOutput();
  });

  afterEach(() => {
    output.restore();
  });

  /**
   * Lambda's SQS event source, one message per invocation: receive, invoke
   * with `budgetMs` of time, delete what the handler did not report failed.
   */
  async function drive(queue: LocalQueue, budgetMs: number) {
    const handler = createHandler({
      config: loadConfig({
        EMBEDDINGS_BASE_URL: server.url,
        EMBEDDINGS_MODEL: MODEL,
        EMBED_BATCH_SIZE: String(BATCH),
        EMBED_CONCURRENCY: String(CONCURRENCY),
        EMBED_TIME_MARGIN_MS: '600',
        EMBED_CHECKPOINT_INTERVAL_MS: '200',
        QUEUE_URL: queue.queueUrl,
      }),
      store: new S3Store(s3.client),
      readSecret: async () => 'unused',
      continueLater: sqsContinuationSender(queue.client, queue.queueUrl),
    });
    const invocations: { receiveCount: number; failed: boolean }[] = [];
    for (let i = 0; i < 40; i++) {
      const { Messages = [] } = await queue.client.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.queueUrl,
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const message = Messages[0];
      if (message === undefined) break;
      const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
      const record = sqsRecord({ body: message.Body ?? '', messageId: message.MessageId, receiveCount });
      const response = await handler({ Records: [record] }, lambdaContext(budgetMs));
      const failed = failures(response).includes(record.messageId);
      invocations.push({ receiveCount, failed });
      if (!failed) {
        await queue.client.send(
          new DeleteMessageCommand({ QueueUrl: queue.queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
      }
    }
    return invocations;
  }

  it.each([
    ['a plain CSV', 'input/long/plain.csv', (body: string) => body],
    ['a gzip CSV', 'input/long/packed.csv.gz', (body: string) => gzipSync(body)],
  ])(
    'finishes %s that needs several invocations, sending each text about once',
    async (_name, key, encode) => {
      // Prepare
      const rows = Array.from({ length: ROWS }, (_, i) => ({
        id: `c-${i + 1}`,
        text: `continued row ${i + 1}`,
      }));
      const body = `id,text\n${rows.map((r) => `${r.id},${r.text}`).join('\n')}\n`;
      const { etag, size } = await s3.putObject(BUCKET, key, encode(body));
      const queue = await createLocalQueue(s3.endpoint, `jobs-${key.length}-${Date.now()}`);
      await queue.client.send(
        new SendMessageCommand({
          QueueUrl: queue.queueUrl,
          MessageBody: JSON.stringify(s3Event({ bucket: BUCKET, key, etag, size })),
        }),
      );
      const sentBefore = server.stats.inputs;

      // Act
      const invocations = await drive(queue, 1_600);

      // Assess: several invocations, none failed, each message new (nothing heads for a dead-letter queue)
      expect(invocations.length).toBeGreaterThanOrEqual(3);
      expect(invocations.every((i) => !i.failed && i.receiveCount === 1)).toBe(true);
      expect(await queue.drain()).toEqual([]);
      expect(server.stats.inputs - sentBefore).toBeLessThanOrEqual(ROWS + WINDOW * (invocations.length - 1));
      const continued = output.json().filter((line) => String(line.message).startsWith('continued'));
      expect(continued).toHaveLength(invocations.length - 1);
      const { dir } = await downloadOutputFolder(s3, BUCKET, `output/${key.slice('input/'.length)}/`);
      tempDirs.push(dir);
      const out = await readOutputFolder(dir);
      expect(out.rows.map((r) => r.id)).toEqual(rows.map((r) => r.id));
      for (const [i, row] of out.rows.entries()) {
        expect(row.embedding).toEqual(Array.from(featureHashEmbed(rows[i]?.text ?? '', DIMENSIONS)));
      }
      expect(out.usage).toMatchObject({
        rows: { read: ROWS, embedded: ROWS, rejected: 0 },
        attempts: invocations.length,
      });
      expect(await s3.listKeys(BUCKET, `output/${key.slice('input/'.length)}/_scratch/`)).toEqual([]);
      queue.stop();
    },
  );
});
