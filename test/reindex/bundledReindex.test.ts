import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandler, type HandlerBundle } from '../../infra/bundling.ts';
import { decodeS3Event } from '../../lambda/aws/decodeS3Event.ts';
import { sqsEvent } from '../helpers/events.ts';
import { createLocalQueue, type LocalQueue } from '../helpers/localQueue.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

const run = promisify(execFile);
const BUCKET = 'embed-batch-reindex-bundle';

/**
 * Invokes the bundle's `reindex` in a fresh Node process, as the Lambda runtime
 * would (handler `index.reindex`). As on AWS, the SQS client sends to the
 * queue URL's host (`sqs.<region>.localhost` from fauxqs), which fauxqs's
 * own DNS hook resolves to loopback in that process.
 */
const INVOKE = `
import('fauxqs').then(({ interceptLocalhostDns }) => {
interceptLocalhostDns();
const { reindex } = require(process.env.BUNDLE);
const deadline = Date.now() + 300000;
const context = {
  functionName: 'embed-batch-reindex', functionVersion: '$LATEST', awsRequestId: 'req-1', memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:embed-batch-reindex',
  logGroupName: '/aws/lambda/embed-batch-reindex', logStreamName: 's', callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => deadline - Date.now(),
};
return reindex({}, context).then(
  (result) => process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n'),
  (error) => { process.stdout.write('ERROR ' + error.message + '\\n'); process.exitCode = 1; },
);
});
`;

describe('Function: reindex (bundled as deployed)', () => {
  let s3: LocalS3;
  let queue: LocalQueue;
  let bundle: HandlerBundle;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'embed-batch-reindex-bundle-'));
    [s3, bundle] = await Promise.all([startLocalS3(), bundleHandler(path.join(dir, 'asset'))]);
    await s3.createBucket(BUCKET);
    queue = await createLocalQueue(s3.endpoint, 'reindex-bundle-jobs');
  });

  afterAll(async () => {
    queue?.stop();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('enqueues a new input with clients built from the environment', async () => {
    // Prepare
    const key = 'input/bundle run/ä+b.csv';
    const { etag } = await s3.putObject(BUCKET, key, 'id,text\n1,erste Zeile\n');
    await s3.putObject(BUCKET, 'input/skip.txt', 'not an input');

    // Act
    const { stdout } = await run(process.execPath, ['-e', INVOKE], {
      env: {
        PATH: process.env.PATH,
        BUNDLE: bundle.file,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        BUCKET,
        QUEUE_URL: queue.queueUrl,
        INPUT_PREFIX: 'input/',
        OUTPUT_PREFIX: 'output/',
        EMBEDDINGS_BASE_URL: 'https://openai.inference.de-txl.ionos.com/v1',
        EMBEDDINGS_MODEL: 'BAAI/bge-m3',
        EMBED_FORMAT: 'parquet',
      },
    });

    // Assess
    const result = stdout.split('\n').find((line) => line.startsWith('RESULT '));
    expect(JSON.parse(result?.slice('RESULT '.length) ?? 'null')).toEqual({
      listed: 2,
      upToDate: 0,
      enqueued: 1,
      failed: 0,
    });
    const summary = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.message === 'reindex');
    expect(summary).toMatchObject({ level: 'INFO', enqueued: 1, function_name: 'embed-batch-reindex' });
    const messages = await queue.drain();
    const decoded = decodeS3Event(
      sqsEvent(...messages.map((message) => ({ body: message.Body, messageId: message.MessageId }))),
    );
    expect(decoded.messages.flatMap((message) => message.objects)).toEqual([
      { bucket: BUCKET, key, etag, size: expect.any(Number), eventName: 'ObjectCreated:Put' },
    ]);
  });
});
