/**
 * The library API against the real parts: serve-local over HTTP, local files
 * and a local S3 server, outputs read back with DuckDB.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  createEmbedder,
  embedFile,
  embedFiles,
  JobInterruptedError,
  S3Store,
  search,
} from '../../lambda/index.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import { type ExpectedRow, expectOutputRows } from '../helpers/expectOutput.ts';
import { readOutputFolder } from '../helpers/readOutput.ts';
import { downloadOutputFolder } from '../helpers/s3Output.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

const MODEL = 'local/feature-hash';
const BUCKET = 'api-it';

function rowsOf(prefix: string, n: number): ExpectedRow[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    text: `${prefix} item ${i + 1}, with words`,
  }));
}
const csvOf = (rows: readonly ExpectedRow[]) =>
  `id,text\n${rows.map((r) => `${r.id},"${r.text}"`).join('\n')}\n`;
const jsonlOf = (rows: readonly ExpectedRow[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

describe('API: embedFile and embedFiles', () => {
  let root: string;
  let server: LocalServer;
  let s3: LocalS3;
  const downloads: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
  });
  afterAll(async () => {
    await s3?.stop();
    await Promise.all(downloads.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'embed-batch-api-'));
    server = await startLocalServer({ maxInputs: 32 });
  });
  afterEach(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('embeds a local file against an endpoint and returns its usage report', async () => {
    // Arrange
    const rows = rowsOf('p', 75);
    await writeFile(path.join(root, 'products.csv'), csvOf(rows));

    // Act
    const usage = await embedFile('products.csv', { cwd: root, baseUrl: server.url, model: MODEL, env: {} });

    // Assess
    expect(usage.rows).toMatchObject({ read: 75, embedded: 75, rejected: 0 });
    expect(usage.requests.sent).toBe(server.stats.requests);
    expect(usage.endpoint).toBe(server.url);
    await expectOutputRows(path.join(root, 'out', 'products.csv'), rows);
  });

  it('reads and writes S3 through the store it is given', async () => {
    // Arrange
    const rows = rowsOf('s', 40);
    await s3.putObject(BUCKET, 'in/day 1/s.jsonl', jsonlOf(rows));

    // Act
    const usage = await embedFile(`s3://${BUCKET}/in/day 1/s.jsonl`, {
      out: `s3://${BUCKET}/out/`,
      store: new S3Store(s3.client),
      baseUrl: server.url,
      model: MODEL,
      env: {},
    });

    // Assess: the folder keeps the key below the bucket, whole file name included.
    expect(usage.rows.embedded).toBe(40);
    const { dir } = await downloadOutputFolder(s3, BUCKET, 'out/in/day 1/s.jsonl/');
    downloads.push(dir);
    await expectOutputRows(dir, rows);
  });

  it('embeds a folder in one stream of requests, reporting each file, progress and the call totals', async () => {
    // Arrange: twelve small files and one without its text column
    await mkdir(path.join(root, 'in'));
    const files = Array.from({ length: 12 }, (_, n) => ({
      name: `part-${n}.csv`,
      rows: rowsOf(`f${n}`, 5 + n),
    }));
    for (const f of files) await writeFile(path.join(root, 'in', f.name), csvOf(f.rows));
    await writeFile(path.join(root, 'in', 'broken.csv'), 'id,body\n1,x\n');
    const events: { filesDone: number; filesTotal: number }[] = [];
    const ended: string[] = [];
    const { embedder } = createEmbedder({ baseUrl: server.url, model: MODEL, concurrency: 2 });
    const created = createEmbedder({ baseUrl: server.url, model: MODEL, concurrency: 2 });

    // Act
    const result = await embedFiles(['in'], {
      cwd: root,
      embedder: created,
      onProgress: (p) => events.push({ filesDone: p.filesDone, filesTotal: p.filesTotal }),
      onFileEnd: (file) => ended.push(path.basename(file.input)),
    });

    // Assess
    expect(embedder.requests.sent).toBe(0); // an embedder not passed sends nothing
    expect(result.failed).toBe(1);
    const broken = result.files.find((f) => f.input.endsWith('broken.csv'));
    expect(broken?.status).toBe('failed');
    expect(String(broken?.error)).toMatch(/no column "text"/);
    for (const f of files) {
      const file = result.files.find((r) => r.input.endsWith(f.name));
      expect(file?.status).toBe('done');
      await expectOutputRows(path.join(root, 'out', f.name), f.rows);
    }
    // 138 rows in requests of up to 32, spanning files: fewer requests than files.
    expect(result.requests.sent).toBe(server.stats.requests);
    expect(result.requests.sent).toBeLessThan(files.length);
    expect(result.tokens.total).toBe(result.files.reduce((n, f) => n + (f.usage?.tokens.total ?? 0), 0));
    expect(ended.sort()).toEqual([...files.map((f) => f.name), 'broken.csv'].sort());
    expect(events.at(-1)?.filesTotal).toBe(13);
    expect(events.some((e) => e.filesDone > 0)).toBe(true);
  });

  it('stops cleanly on its signal with a JobInterruptedError, and the same call resumes to the exact output', async () => {
    // Arrange: a paced endpoint, so the job is still running when the signal comes
    await server.close();
    server = await startLocalServer({ maxInputs: 32, rps: 20 });
    const rows = rowsOf('r', 1_500);
    await writeFile(path.join(root, 'big.jsonl'), jsonlOf(rows));
    const controller = new AbortController();
    const options = {
      cwd: root,
      baseUrl: server.url,
      model: MODEL,
      env: {},
      rps: 20,
      batchSize: 32,
      checkpointSeconds: 0.2,
    };

    // Act
    setTimeout(() => controller.abort(), 1_000);
    const stopped = await embedFile('big.jsonl', { ...options, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    const sentBefore = server.stats.inputs;
    const usage = await embedFile('big.jsonl', options);

    // Assess
    expect(stopped).toBeInstanceOf(JobInterruptedError);
    const done = (stopped as JobInterruptedError).recordsDone;
    expect(done).toBeGreaterThan(0);
    expect(server.stats.inputs - sentBefore).toBe(1_500 - done);
    expect(usage.attempts).toBe(2);
    const output = await readOutputFolder(path.join(root, 'out', 'big.jsonl'));
    expect(output.rows.map((r) => r.id)).toEqual(rows.map((r) => r.id));
  });

  it('searches an output it wrote: the row whose text is the query comes first, with its kept columns', async () => {
    // Arrange
    const rows = rowsOf('q', 50).map((r, i) => ({ ...r, shelf: `s${i % 3}` }));
    await writeFile(path.join(root, 'shelf.jsonl'), jsonlOf(rows));
    await embedFile('shelf.jsonl', {
      cwd: root,
      baseUrl: server.url,
      model: MODEL,
      env: {},
      keepColumns: ['shelf'],
    });

    // Act
    const result = await search(path.join(root, 'out', 'shelf.jsonl'), 'q item 17, with words', {
      k: 3,
      baseUrl: server.url,
      env: {},
    });

    // Assess
    expect(result.rowsScanned).toBe(50);
    expect(result.hits).toHaveLength(3);
    expect(result.hits[0]?.columns).toMatchObject({ id: 'q-17', shelf: 's1' });
    expect(result.hits[0]?.score).toBeCloseTo(1, 5);
    expect(result.hits.map((h) => h.rank)).toEqual([1, 2, 3]);
  });

  it.each([
    [{ filesAtOnce: 0 }, 'Expected `filesAtOnce` to be a positive integer, got 0'],
    [{ concurrency: 0 }, 'Expected `concurrency` to be a positive integer, got 0'],
    [{ batchSize: -1 }, 'Expected `batchSize` to be a positive integer, got -1'],
    [{ partRows: 0.5 }, 'Expected `partRows` to be a positive integer, got 0.5'],
    [{ rps: 'x' }, 'Expected `rps` to be a positive number, got x'],
    [{ burst: 2 }, 'Expected `burst` only together with `rps`'],
    [{ format: 'csv' }, 'Expected `format` to be one of parquet, arrow, both, got csv'],
    [{ keepColumns: 'a,b' }, 'Expected `keepColumns` to be a list of column names, got "a,b"'],
    [{ textColumn: 5 }, 'Expected `textColumn` to be a string, got 5'],
    [{ delimiter: ':' }, 'Expected `delimiter` to be one of , ; tab |'],
    [{ encoding: 'ebcdic' }, 'Expected `encoding` to be one of utf-8'],
    [{ maxRejected: 'lots' }, 'Expected `maxRejected` to be a number of records'],
    [
      { checkpointSeconds: 0 },
      'Expected `checkpointSeconds` to be a number of seconds (at least 0.001), got 0',
    ],
    [{ baseUrl: 'ftp://x' }, 'Expected `baseUrl` (or EMBEDDINGS_BASE_URL) to be an http(s) URL'],
    [{ graceMs: -1 }, 'Expected `graceMs` to be a number of milliseconds (0 or more), got -1'],
    [{ includeText: 'no' }, 'Expected `includeText` to be true or false, got "no"'],
    [{ apiKey: 4242424242 }, 'Expected `apiKey` to be a string, got number'],
  ])(
    'names the library option that is not valid, %j, as a ConfigError before anything runs',
    async (bad, message) => {
      // Arrange: an output root that must stay empty
      const out = path.join(root, 'never-written');

      // Act
      const call = embedFile('x.csv', { cwd: root, out, env: {}, ...(bad as object) });

      // Assess
      await expect(call).rejects.toBeInstanceOf(ConfigError);
      await expect(call).rejects.toThrow(message);
      await expect(call).rejects.not.toThrow(/`--/);
      await expect(call).rejects.not.toThrow('4242424242');
      await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
    },
  );
});
