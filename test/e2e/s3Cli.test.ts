import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import { cleanEnv, spawnCli } from '../helpers/cli.ts';
import { expectedCsvRows, expectedJsonlRows, expectOutputRows } from '../helpers/expectOutput.ts';
import { downloadOutputFolder } from '../helpers/s3Output.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

const BUCKET = 'cli-bucket';
const FIXTURES = path.resolve('fixtures');

let s3: LocalS3;
let server: LocalServer;
let env: NodeJS.ProcessEnv;
const downloaded: string[] = [];

beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket(BUCKET);
  server = await startLocalServer({ models: [OFFLINE_MODEL, 'other/model'] });
  // The SDK's own settings, as a user would set them for a local S3-compatible server.
  env = cleanEnv({
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  });
});

afterAll(async () => {
  await server?.close();
  await s3?.stop();
  await Promise.all(downloaded.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The real binary in a child process: the AWS SDK reads its settings from the process environment. */
function cli(args: string[], model = OFFLINE_MODEL) {
  return spawnCli([...args, '--base-url', server.url, '--model', model], env);
}

async function outputFolder(prefix: string): Promise<string> {
  const { dir } = await downloadOutputFolder(s3, BUCKET, prefix);
  downloaded.push(dir);
  return dir;
}

describe('Command: embed-batch run with s3:// input and output', () => {
  it('gives x.csv, x.jsonl and x.csv.gz below one prefix three complete s3:// outputs', async () => {
    // Prepare
    const csvBody = await readFile(path.join(FIXTURES, 'products.csv'));
    await s3.putObject(BUCKET, 'same/x.csv', csvBody);
    await s3.putObject(BUCKET, 'same/x.jsonl', await readFile(path.join(FIXTURES, 'products.jsonl')));
    await s3.putObject(BUCKET, 'same/x.csv.gz', gzipSync(csvBody));

    // Act
    const result = await cli(['run', `s3://${BUCKET}/same/`, '--out', `s3://${BUCKET}/same-vectors/`]);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const csvRows = await expectedCsvRows(path.join(FIXTURES, 'products.csv'));
    await expectOutputRows(await outputFolder('same-vectors/x.csv/'), csvRows);
    await expectOutputRows(await outputFolder('same-vectors/x.csv.gz/'), csvRows);
    await expectOutputRows(
      await outputFolder('same-vectors/x.jsonl/'),
      await expectedJsonlRows(path.join(FIXTURES, 'products.jsonl')),
    );
  });

  it("fails a file whose output keys would pass S3's 1,024 bytes, before writing anything", async () => {
    // Prepare: a key that fits S3, but not with the output prefix and file names added
    const key = `long/${'k'.repeat(980)}.csv`;
    await s3.putObject(BUCKET, key, 'id,text\n1,a\n');
    const before = server.stats.requests;

    // Act
    const result = await cli(['run', `s3://${BUCKET}/${key}`, '--out', `s3://${BUCKET}/long-vectors/`]);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr.at(-1)).toMatch(
      /needs S3 keys of \d+ bytes .* over S3's limit of 1024; use a shorter input path or output prefix$/,
    );
    expect(await s3.listKeys(BUCKET, 'long-vectors/')).toEqual([]);
    expect(server.stats.requests).toBe(before);
  });

  it('embeds every file below an s3:// prefix into s3:// output folders', async () => {
    // Prepare
    await s3.putObject(
      BUCKET,
      'exports/2026/products.csv',
      await readFile(path.join(FIXTURES, 'products.csv')),
    );
    await s3.putObject(
      BUCKET,
      'exports/more products.jsonl',
      await readFile(path.join(FIXTURES, 'products.jsonl')),
    );
    await s3.putObject(BUCKET, 'exports/notes.txt', 'not an input');

    // Act
    const result = await cli(['run', `s3://${BUCKET}/exports/`, '--out', `s3://${BUCKET}/vectors/`]);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    expect(result.stdout).toHaveLength(2);
    await expectOutputRows(
      await outputFolder('vectors/2026/products.csv/'),
      await expectedCsvRows(path.join(FIXTURES, 'products.csv')),
    );
    await expectOutputRows(
      await outputFolder('vectors/more products.jsonl/'),
      await expectedJsonlRows(path.join(FIXTURES, 'products.jsonl')),
    );

    // Act: search the output where it lies
    const search = await spawnCli(
      ['search', `s3://${BUCKET}/vectors/2026/products.csv`, 'coffee dripper', '-k', '1'],
      env,
    );

    // Assess
    expect(search.status, search.raw).toBe(0);
    expect(search.stdout).toEqual([expect.stringMatching(/^1\. 0\.\d{4}\s+P-1007\s/)]);
  });
});

describe('Command: embed-batch reindex', () => {
  it('processes exactly the stale sources: new, changed and other-model, not the up-to-date one', async () => {
    // Prepare: four sources, all embedded once
    const jsonl = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ id: i + 1, text: `${tag} row ${i + 1}` })).join(
        '\n',
      );
    await s3.putObject(BUCKET, 'input/same.jsonl', jsonl(5, 'same'));
    await s3.putObject(BUCKET, 'input/changed.jsonl', jsonl(5, 'changed'));
    await s3.putObject(BUCKET, 'input/team/model.jsonl', jsonl(5, 'model'));
    expect((await cli(['reindex', `s3://${BUCKET}/input/`])).status).toBe(0);
    // ... one made with another model, one changed since, one new
    expect(
      (
        await cli(
          ['run', `s3://${BUCKET}/input/team/`, '--out', `s3://${BUCKET}/output/team/`],
          'other/model',
        )
      ).status,
    ).toBe(0);
    await s3.putObject(BUCKET, 'input/changed.jsonl', jsonl(6, 'changed'));
    await s3.putObject(BUCKET, 'input/new.jsonl', jsonl(3, 'new'));
    const inputsBefore = server.stats.inputs;

    // Act
    const result = await cli(['reindex', `s3://${BUCKET}/input/`]);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    expect(result.stdout.filter((l) => l.startsWith('up to date:'))).toEqual([
      `up to date: s3://${BUCKET}/input/same.jsonl`,
    ]);
    expect(result.stdout.filter((l) => l.startsWith('stale')).sort()).toEqual([
      `stale (no complete output): s3://${BUCKET}/input/new.jsonl`,
      `stale (output made with model other/model): s3://${BUCKET}/input/team/model.jsonl`,
      `stale (source changed): s3://${BUCKET}/input/changed.jsonl`,
    ]);
    expect(result.stdout.at(-1)).toBe('reindex: 1 up to date, 3 processed, 0 failed');
    // Sent: the one new row of the changed file, the new file, and all of the other-model file.
    expect(server.stats.inputs - inputsBefore).toBe(1 + 3 + 5);
    await expectOutputRows(
      await outputFolder('output/changed.jsonl/'),
      Array.from({ length: 6 }, (_, i) => ({ id: String(i + 1), text: `changed row ${i + 1}` })),
    );

    // Act again: everything is current now
    const again = await cli(['reindex', `s3://${BUCKET}/input/`]);

    // Assess
    expect(again.stdout.at(-1)).toBe('reindex: 4 up to date, 0 processed, 0 failed');
  });
});
