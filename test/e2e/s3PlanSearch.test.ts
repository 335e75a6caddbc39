import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { cleanEnv, spawnCli } from '../helpers/cli.ts';
import { duckdbQuery, sqlString } from '../helpers/readOutput.ts';
import { downloadOutputFolder } from '../helpers/s3Output.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

const BUCKET = 'plan-bucket';
let s3: LocalS3;
let server: LocalServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket(BUCKET);
  server = await startLocalServer({});
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
});

/** The real binary in a child process (async: fauxqs runs in this one). */
function cli(args: string[]) {
  return spawnCli([...args, '--base-url', server.url, '--model', OFFLINE_MODEL], env);
}

describe('Commands: embed-batch plan, run and search on s3://', () => {
  it('plans an s3:// input, the run carries the estimate, and search reads the parts by range where they lie', async () => {
    // Prepare
    const lines = Array.from({ length: 260 }, (_, i) =>
      JSON.stringify({
        id: `s${i}`,
        text: i % 13 === 0 ? 'a repeated text' : `shelf ${i} holds jars of ${i * 3} beans`,
      }),
    );
    await s3.putObject(BUCKET, 'input/jars.jsonl', lines.join('\n'));
    const input = `s3://${BUCKET}/input/jars.jsonl`;
    const flags = [
      '--out',
      `s3://${BUCKET}/output/`,
      '--batch-size',
      '16',
      '--part-rows',
      '100',
      '--format',
      'both',
    ];

    // Act
    const planned = await cli(['plan', input, ...flags, '--json']);
    const keys = await s3.listKeys(BUCKET, 'output/');
    const run = await cli(['run', input, ...flags]);
    const output = `s3://${BUCKET}/output/input/jars.jsonl`;
    const searchOf = (target: string) =>
      spawnCli(['search', target, 'jars of beans 300', '-k', '4', '--json'], env);
    const searched = await searchOf(output);
    // One Arrow part by name: its footer, batch headers, vectors and cells by ranged GETs.
    const arrowPart = await searchOf(`${output}/part-00000.arrow`);
    const parquetPart = await searchOf(`${output}/part-00000.parquet`);

    // Assess
    expect(planned.status, planned.raw).toBe(0);
    expect(keys).toEqual(['output/input/jars.jsonl/_scratch/plan.json']);
    expect(run.status, run.raw).toBe(0);
    const usage = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, 'output/input/jars.jsonl/usage.json')),
    ) as UsageReport;
    const file = JSON.parse(planned.stdout.join('\n')).files[0];
    expect(usage.estimate).toMatchObject({
      rows: 260,
      duplicates: 19,
      reused: 0,
      requests: file.requests,
      tokens: file.tokens,
    });
    expect(usage.rows).toMatchObject({ read: 260, deduplicated: 19 });
    expect(usage.requests.sent).toBe(file.requests);

    expect(searched.status, searched.raw).toBe(0);
    type Hit = { id: string; score: number; part: string; text: string; row: number };
    const hits = JSON.parse(searched.stdout.join('\n')).hits as Hit[];
    // Of an s3:// output written as both, the Parquet parts are searched: fewer bytes to download.
    expect(hits.every((h) => h.part.endsWith('.parquet'))).toBe(true);
    expect(arrowPart.status, arrowPart.raw).toBe(0);
    const fromArrow = JSON.parse(arrowPart.stdout.join('\n')).hits as Hit[];
    const fromParquet = JSON.parse(parquetPart.stdout.join('\n')).hits as Hit[];
    expect(fromArrow.map((h) => [h.id, h.text, h.row, h.score])).toEqual(
      fromParquet.map((h) => [h.id, h.text, h.row, expect.closeTo(h.score, 6)]),
    );
    const { dir } = await downloadOutputFolder(s3, BUCKET, 'output/input/jars.jsonl/');
    const vector = Array.from(featureHashEmbed('jars of beans 300', 384)).join(',');
    const expected = await duckdbQuery(
      `select id, array_cosine_similarity(embedding::FLOAT[384], [${vector}]::FLOAT[384]) as score
       from read_parquet(${sqlString(`${dir}/part-*.parquet`)}) order by score desc limit 4`,
    );
    expect(hits.map((h) => h.score)).toEqual(expected.map((e) => expect.closeTo(Number(e.score), 5)));
    expect(hits[0]?.id).toBe(String(expected[0]?.id));
  });
});
