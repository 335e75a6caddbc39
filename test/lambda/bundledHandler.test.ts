import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandler, type HandlerBundle } from '../../infra/bundling.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import { sqsEvent, sqsS3Message } from '../helpers/events.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

const run = promisify(execFile);
const BUCKET = 'embed-batch-bundle';
const TOKEN = 'tok-bundle-2718281828-NEVER-LOG-ME';

/** Invokes the bundle's `handler` in a fresh Node process, as the Lambda runtime would load it. */
const INVOKE = `
const { handler } = require(process.env.BUNDLE);
const event = JSON.parse(require('node:fs').readFileSync(process.env.EVENT_FILE, 'utf8'));
const deadline = Date.now() + 900000;
const context = {
  functionName: 'embed-batch', functionVersion: '$LATEST', awsRequestId: 'req-1', memoryLimitInMB: '1769',
  invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:embed-batch',
  logGroupName: '/aws/lambda/embed-batch', logStreamName: 's', callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => deadline - Date.now(),
};
handler(event, context).then(
  (result) => process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n'),
  (error) => { process.stdout.write('ERROR ' + error.message + '\\n'); process.exitCode = 1; },
);
`;

describe('Function: handler (bundled as deployed)', () => {
  let s3: LocalS3;
  let server: LocalServer;
  let bundle: HandlerBundle;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'embed-batch-bundle-'));
    [s3, server, bundle] = await Promise.all([
      startLocalS3(),
      startLocalServer({ apiKey: TOKEN, dimensions: 16 }),
      bundleHandler(path.join(dir, 'asset')),
    ]);
    await s3.createBucket(BUCKET);
  });

  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Uploads `body` to `key` and runs the bundle on its notification, in a process of its own. */
  async function uploadAndInvoke(
    key: string,
    body: string,
  ): Promise<{ stdout: string; stderr: string; etag: string }> {
    const { etag, size } = await s3.putObject(BUCKET, key, body);
    const eventFile = path.join(dir, 'event.json');
    await writeFile(
      eventFile,
      JSON.stringify(sqsEvent(sqsS3Message([{ bucket: BUCKET, key, etag, size }], `m-${etag}`))),
    );
    const { stdout, stderr } = await run(process.execPath, ['-e', INVOKE], {
      env: {
        PATH: process.env.PATH,
        BUNDLE: bundle.file,
        EVENT_FILE: eventFile,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        EMBEDDINGS_BASE_URL: server.url,
        EMBEDDINGS_MODEL: 'local/feature-hash',
        EMBEDDINGS_API_KEY: TOKEN,
      },
      timeout: 60_000,
    });
    return { stdout, stderr, etag };
  }

  it('embeds an SQS-delivered upload with clients built from the environment', async () => {
    // Act
    const key = 'input/bundle run/ä+b.csv';
    const { stdout, stderr, etag } = await uploadAndInvoke(key, 'id,text\n1,erste Zeile\n2,second line\n');

    // Assess
    expect(stdout).toContain('RESULT {"batchItemFailures":[]}');
    const manifest = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, 'output/bundle run/ä+b.csv/manifest.json')),
    );
    expect(manifest).toMatchObject({ rows: 2, dimensions: 16, source: { etag } });
    expect(stdout).toContain('"message":"embedded"');
    expect(`${stdout}${stderr}`).not.toContain(TOKEN);
  });

  it('reuses the vectors of the earlier output when the upload comes again with a row more (the bundled reuse reader)', async () => {
    // Prepare: the first output of this key
    const key = 'input/bundle run/again.csv';
    await uploadAndInvoke(key, 'id,text\n1,erste Zeile\n2,second line\n');

    // Act
    const { stdout } = await uploadAndInvoke(key, 'id,text\n1,erste Zeile\n2,second line\n3,dritte Zeile\n');

    // Assess: two rows lent by the earlier part, one embedded
    expect(stdout).toContain('RESULT {"batchItemFailures":[]}');
    const usage = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, 'output/bundle run/again.csv/usage.json')),
    );
    expect(usage.rows).toMatchObject({ read: 3, embedded: 3, reused: 2 });
  });
});
