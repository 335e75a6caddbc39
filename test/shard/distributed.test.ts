import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createShardHandlers } from '../../lambda/aws/createShardHandlers.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { runJob } from '../../lambda/pipeline.ts';
import { resolveJobOptions } from '../../lambda/resolveJobOptions.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import type { ShardPlan, ShardTask } from '../../lambda/shard/ShardPlan.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import { lambdaContext } from '../helpers/events.ts';
import { type OutputFolderContents, parquetColumnTypes, readOutputFolder } from '../helpers/readOutput.ts';
import { downloadOutputFolder } from '../helpers/s3Output.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from '../lambda/captureOutput.ts';

const BUCKET = 'embed-batch-shards';
const TOKEN = 'tok-shards-NEVER-LOG-ME';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:embed-batch/token-AbCdEf';
const MODEL = 'local/feature-hash';
const DIMENSIONS = 24;
const ROWS = 360;

/** A CSV with everything that makes splitting hard: BOM, CRLF, quoted line breaks and quotes, blank lines, rejects. */
function trickyCsv(): string {
  const lines = ['\uFEFFid,text,category'];
  for (let i = 1; i <= ROWS; i++) {
    const text =
      i % 7 === 0
        ? `"Produkt ${i}: ""Grüner Tee"",\r\nzweite Zeile\nund dritte — ${i}"`
        : i % 11 === 0
          ? '"   "'
          : `Produkt ${i} naïve café ${i % 3 === 0 ? '東京' : 'Zürich'}`;
    const row = i % 13 === 0 ? `r-${i},${text}` : `r-${i},${text},cat-${i % 4}`;
    lines.push(row);
    if (i % 17 === 0) lines.push('');
  }
  return lines.map((line, i) => `${line}${i % 2 === 0 ? '\r\n' : '\n'}`).join('');
}

/** A JSONL file with invalid, blank and CRLF lines and a BOM. */
function trickyJsonl(): string {
  const lines: string[] = [];
  for (let i = 1; i <= ROWS; i++) {
    if (i % 19 === 0) lines.push('{"id": "broken", ');
    else if (i % 23 === 0) lines.push('   ');
    else
      lines.push(
        JSON.stringify({
          id: `j-${i}`,
          text: `Zeile ${i}: "quoted"\nwith a newline ${i}`,
          category: `c${i % 5}`,
        }),
      );
  }
  return `\uFEFF${lines.map((line, i) => `${line}${i % 3 === 0 ? '\r\n' : '\n'}`).join('')}`;
}

describe('Integration: planner -> concurrent shard workers -> finaliser (local S3, serve-local)', () => {
  let s3: LocalS3;
  let server: LocalServer;
  let output: CapturedOutput;
  const tempDirs: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    server = await startLocalServer({ apiKey: TOKEN, dimensions: DIMENSIONS });
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

  const env = {
    EMBEDDINGS_BASE_URL: '',
    EMBEDDINGS_MODEL: MODEL,
    EMBEDDINGS_API_KEY_SECRET_ARN: SECRET_ARN,
    EMBED_BATCH_SIZE: '16',
    EMBED_CONCURRENCY: '2',
    EMBED_KEEP_COLUMNS: 'category',
    EMBED_PART_ROWS: '25',
    SHARD_BYTES: '3000',
  };

  function newShardHandlers(extra: Record<string, string> = {}) {
    const config = loadConfig({ ...env, EMBEDDINGS_BASE_URL: server.url, ...extra });
    return createShardHandlers({
      config,
      store: new S3Store(s3.client),
      readSecret: async () => JSON.stringify({ apiKey: TOKEN }),
    });
  }

  /** The reference: one `runJob` of the whole file, as the inline handler runs it. */
  async function runSingle(sourceUri: string, outputDir: string, extra: Record<string, string> = {}) {
    const config = loadConfig({ ...env, EMBEDDINGS_BASE_URL: server.url, ...extra });
    // As createHandler resolves them.
    const options = resolveJobOptions({
      model: config.model,
      baseUrl: config.baseUrl,
      format: config.format,
      batchSize: config.batchSize,
      concurrency: config.concurrency,
      rowsPerPart: config.rowsPerPart,
      textColumn: config.textColumn,
      idColumn: config.idColumn,
      keepColumns: config.keepColumns,
    });
    const { transport, embedder } = createEmbedder({
      baseUrl: server.url,
      apiKey: TOKEN,
      model: MODEL,
      concurrency: options.concurrency,
    });
    return runJob(sourceUri, outputDir, options, {
      store: new S3Store(s3.client),
      embedder,
      model: transport.model,
      endpoint: transport.endpoint,
    });
  }

  /** What Step Functions does: plan, read the shard list as the ItemReader would, all workers at once, finalise. */
  async function runDistributed(
    key: string,
    { etag, size }: { etag: string; size: number },
    extra: Record<string, string> = {},
  ) {
    const handlers = newShardHandlers(extra);
    const summary = await handlers.plan({ bucket: BUCKET, key, etag, size }, lambdaContext());
    const reader = summary.itemReader;
    if (reader === undefined) throw new Error('no ItemReader location in the plan summary');
    const items = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(reader.bucket, reader.key)),
    ) as ShardTask[];
    const workers = await Promise.all(items.map((item) => handlers.shard(item, lambdaContext())));
    const finalised = await handlers.finalise(summary, lambdaContext());
    return { handlers, summary, items, workers, finalised };
  }

  async function readOutput(prefix: string): Promise<OutputFolderContents & { files: string[] }> {
    const { dir, files } = await downloadOutputFolder(s3, BUCKET, prefix);
    tempDirs.push(dir);
    return { ...(await readOutputFolder(dir)), files };
  }

  it.each([
    ['CSV', 'input/big/products.csv', trickyCsv()],
    ['JSONL', 'input/big/lines.jsonl', trickyJsonl()],
  ])('gives the %s file row for row the output of one single-invocation run', async (_format, key, body) => {
    // Prepare
    const object = await s3.putObject(BUCKET, key, body);
    const name = key.slice('input/big/'.length);
    const single = await runSingle(`s3://${BUCKET}/${key}`, `s3://${BUCKET}/reference/${name}/`);

    // Act
    const { summary, items, workers, finalised } = await runDistributed(key, object);

    // Assess
    expect(summary.shards).toBeGreaterThanOrEqual(5);
    expect(items).toHaveLength(summary.shards);
    expect(workers.every((worker) => worker.status === 'done' && !worker.alreadyDone)).toBe(true);
    expect(finalised.status).toBe('finalised');
    const reference = await readOutput(`reference/${name}/`);
    const distributed = await readOutput(`output/big/${name}/`);

    expect(distributed.rows.length).toBeGreaterThan(ROWS / 2);
    expect(distributed.rows).toEqual(reference.rows);
    expect(distributed.errors.length).toBeGreaterThan(10);
    expect(distributed.errors).toEqual(reference.errors);
    expect(distributed.usage.rows).toEqual(single.usage.rows);
    expect(distributed.usage.tokens).toEqual(single.usage.tokens);
    expect(distributed.usage.source).toEqual(single.usage.source);
    expect(distributed.usage).toMatchObject({ model: MODEL, dimensions: DIMENSIONS, endpoint: server.url });
    const { parts: _p, created_at: _c, errors: errorsA, usage: _u, ...manifestA } = distributed.manifest;
    const { parts: _q, created_at: _d, errors: errorsB, usage: _v, ...manifestB } = reference.manifest;
    expect(manifestA).toEqual(manifestB);
    expect((errorsA as { rows: number }).rows).toBe((errorsB as { rows: number }).rows);
    // Parts in shard order, named by shard, and nothing else left in the folder.
    const parts = distributed.manifest.parts.map((part) => part.uri.slice(part.uri.lastIndexOf('/') + 1));
    expect(parts).toEqual([...parts].sort());
    expect(parts.every((part) => /^part-\d{5}-\d{5}\.parquet$/.test(part))).toBe(true);
    expect(distributed.files.sort()).toEqual(
      ['errors.jsonl', 'manifest.json', ...parts, 'usage.json'].sort(),
    );
    expect(await s3.listKeys(BUCKET, `output/big/${name}/_shards/`)).toEqual([]);
    expect(distributed.usage.outputs).toEqual(distributed.manifest.parts);
  });

  it('writes one schema in every shard: the planner types the JSONL fields once, as the first records show them', async () => {
    // Prepare: prices in the first 120 records only, then nulls and one that is no number; shards of ~30 records
    const lines = Array.from({ length: ROWS }, (_, n) => {
      const i = n + 1;
      return JSON.stringify({
        id: `k-${i}`,
        text: `Zeile ${i}: typed fields`,
        price: i <= 120 ? i * 1.5 : i === 200 ? 'n/a' : null,
        active: i % 3 === 0,
        tags: i % 4 === 0 ? [] : [`t${i % 5}`, i],
      });
    });
    const key = 'input/typed/fields.jsonl';
    const { etag, size } = await s3.putObject(BUCKET, key, `${lines.join('\n')}\n`);
    const extra = { EMBED_KEEP_COLUMNS: 'price,active,tags' };
    await runSingle(`s3://${BUCKET}/${key}`, `s3://${BUCKET}/reference/typed/`, extra);
    const handlers = newShardHandlers(extra);

    // Act
    const summary = await handlers.plan({ bucket: BUCKET, key, etag, size }, lambdaContext());
    const plan = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, 'output/typed/fields.jsonl/_shards/plan.json')),
    ) as ShardPlan;
    const items = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, summary.itemReader?.key ?? '')),
    ) as ShardTask[];
    await Promise.all(items.map((item) => handlers.shard(item, lambdaContext())));
    await handlers.finalise(summary, lambdaContext());

    // Assess: every part, also those of shards that never saw a price, has the typed schema
    expect(plan.job.keepColumns).toEqual(['price:number', 'active:boolean', 'tags:list']);
    expect(items.length).toBeGreaterThanOrEqual(5);
    const { dir, files } = await downloadOutputFolder(s3, BUCKET, 'output/typed/fields.jsonl/');
    tempDirs.push(dir);
    const parts = files.filter((file) => file.startsWith('part-'));
    expect(parts.length).toBeGreaterThanOrEqual(items.length);
    for (const part of parts) {
      expect(await parquetColumnTypes(`${dir}/${part}`), part).toMatchObject({
        price: 'DOUBLE',
        active: 'BOOLEAN',
        tags: 'VARCHAR[]',
      });
    }
    const distributed = await readOutputFolder(dir);
    const reference = await readOutput('reference/typed/');
    expect(distributed.rows).toEqual(reference.rows);
    expect(distributed.rows.find((row) => row.id === 'k-8')).toMatchObject({
      price: 12,
      active: false,
      tags: [],
    });
    expect(distributed.rows.find((row) => row.id === 'k-300')).toMatchObject({
      price: null,
      active: true,
      tags: [],
    });
    expect(distributed.errors).toEqual([
      {
        record: 200,
        line: 200,
        id: 'k-200',
        reason: 'record 200 (line 200), column "price": expected a number, got "n/a"',
      },
    ]);
    expect(distributed.errors).toEqual(reference.errors);
  });

  it('reruns idempotently: a retried shard is not embedded again, a rerun finaliser keeps the manifest', async () => {
    // Prepare
    const key = 'input/again/products.csv';
    const handlers = newShardHandlers();
    const { etag, size } = await s3.putObject(BUCKET, key, trickyCsv());
    const summary = await handlers.plan({ bucket: BUCKET, key, etag, size }, lambdaContext());
    const items = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, summary.itemReader?.key ?? '')),
    ) as ShardTask[];
    await Promise.all(items.map((item) => handlers.shard(item, lambdaContext())));
    const requestsBefore = server.stats.requests;

    // Act
    const retried = await handlers.shard(items[1]!, lambdaContext());
    const first = await handlers.finalise(summary, lambdaContext());
    const manifest = await s3.getBytes(BUCKET, 'output/again/products.csv/manifest.json');
    const again = await handlers.finalise(summary, lambdaContext());

    // Assess
    expect(retried).toMatchObject({ status: 'done', alreadyDone: true });
    expect(server.stats.requests).toBe(requestsBefore);
    expect(first.status).toBe('finalised');
    expect(again).toEqual({ status: 'already finalised', manifestUri: first.manifestUri });
    expect(await s3.getBytes(BUCKET, 'output/again/products.csv/manifest.json')).toEqual(manifest);
    await expect(handlers.shard(items[0]!, lambdaContext())).rejects.toThrow(/no plan/);
  });

  it('keeps an earlier single-invocation output complete while shards run, then replaces its parts', async () => {
    // Prepare: a complete earlier output of the same file, with more parts than the new run writes.
    const key = 'input/grown/products.csv';
    await s3.putObject(BUCKET, key, trickyCsv());
    await runSingle(`s3://${BUCKET}/${key}`, `s3://${BUCKET}/output/grown/products.csv/`);
    await s3.putObject(BUCKET, 'output/grown/products.csv/part-00099.parquet', 'an older, longer run');
    const handlers = newShardHandlers();
    const { etag, size } = await s3.putObject(BUCKET, key, trickyCsv());

    // Act
    const summary = await handlers.plan({ bucket: BUCKET, key, etag, size }, lambdaContext());
    const items = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, summary.itemReader?.key ?? '')),
    ) as ShardTask[];
    await Promise.all(items.map((item) => handlers.shard(item, lambdaContext())));
    const whileSharded = await readOutput('output/grown/products.csv/');
    await handlers.finalise(summary, lambdaContext());

    // Assess: before the finaliser, the earlier output (and a stray part) as it was, shard parts out of sight
    expect(whileSharded.manifest.parts.every((part) => /part-\d{5}\.parquet$/.test(part.uri))).toBe(true);
    expect(whileSharded.rows).toHaveLength(Number(whileSharded.manifest.rows));
    expect(whileSharded.files.filter((file) => file.startsWith('part-')).sort()).toEqual(
      [
        ...whileSharded.manifest.parts.map((part) => part.uri.slice(part.uri.lastIndexOf('/') + 1)),
        'part-00099.parquet',
      ].sort(),
    );
    const out = await readOutput('output/grown/products.csv/');
    expect(out.files.filter((file) => file.startsWith('part-')).sort()).toEqual(
      out.manifest.parts.map((part) => part.uri.slice(part.uri.lastIndexOf('/') + 1)).sort(),
    );
    expect(out.manifest.source).toMatchObject({ etag });
  });
  it('runs a shard worker short of time again from its checkpoint, as the state machine loops, with the single-run output', async () => {
    // Prepare: a slow endpoint, short invocations, and a few large shards
    const slow = await startLocalServer({ apiKey: TOKEN, dimensions: DIMENSIONS, latencyMs: 150 });
    try {
      const key = 'input/slow/products.csv';
      const object = await s3.putObject(BUCKET, key, trickyCsv());
      const single = await runSingle(`s3://${BUCKET}/${key}`, `s3://${BUCKET}/reference/slow/`);
      const handlers = newShardHandlers({
        EMBEDDINGS_BASE_URL: slow.url,
        EMBED_TIME_MARGIN_MS: '450',
        EMBED_CHECKPOINT_INTERVAL_MS: '100',
        SHARD_BYTES: '20000',
      });
      const summary = await handlers.plan({ bucket: BUCKET, key, ...object }, lambdaContext());
      const items = JSON.parse(
        new TextDecoder().decode(await s3.getBytes(BUCKET, summary.itemReader?.key ?? '')),
      ) as ShardTask[];

      // Act: each item as the Map's item processor runs it: again while it answers `continue`
      const invocations = await Promise.all(
        items.map(async (item) => {
          let runs = 0;
          for (;;) {
            runs++;
            const outcome = await handlers.shard(item, lambdaContext(900));
            if (outcome.status === 'done') return runs;
            if (runs > 40) throw new Error(`shard ${item.index} did not finish`);
          }
        }),
      );
      const finalised = await handlers.finalise(summary, lambdaContext());

      // Assess
      expect(finalised.status).toBe('finalised');
      expect(Math.max(...invocations)).toBeGreaterThan(1);
      const texts = single.usage.rows.embedded - single.usage.rows.deduplicated;
      const extraRuns = invocations.reduce((sum, runs) => sum + runs - 1, 0);
      // At most one window (2 x concurrency x batch) sent again per extra invocation.
      expect(slow.stats.inputs).toBeLessThanOrEqual(texts + extraRuns * 2 * 2 * 16 + items.length * 16);
      const reference = await readOutput('reference/slow/');
      const distributed = await readOutput('output/slow/products.csv/');
      expect(distributed.rows).toEqual(reference.rows);
      expect(distributed.errors).toEqual(reference.errors);
      expect(distributed.usage.rows).toEqual(single.usage.rows);
      expect(await s3.listKeys(BUCKET, 'output/slow/products.csv/_shards/')).toEqual([]);
    } finally {
      await slow.close();
    }
  });
  it('restarts a failed run from where it stood: a new execution keeps the plan and does not embed finished shards again', async () => {
    // Prepare: a run whose execution failed after half of its shards
    const key = 'input/restart/products.csv';
    const object = await s3.putObject(BUCKET, key, trickyCsv());
    const single = await runSingle(`s3://${BUCKET}/${key}`, `s3://${BUCKET}/reference/restart/`);
    const first = newShardHandlers();
    const summary = await first.plan({ bucket: BUCKET, key, ...object }, lambdaContext());
    const items = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(BUCKET, summary.itemReader?.key ?? '')),
    ) as ShardTask[];
    const half = items.slice(0, Math.ceil(items.length / 2));
    await Promise.all(half.map((item) => first.shard(item, lambdaContext())));
    const inputsBefore = server.stats.inputs;

    // Act: the restarted execution plans again and runs every item
    const again = newShardHandlers();
    const replanned = await again.plan({ bucket: BUCKET, key, ...object }, lambdaContext());
    const workers = await Promise.all(items.map((item) => again.shard(item, lambdaContext())));
    const finalised = await again.finalise(replanned, lambdaContext());

    // Assess
    expect(replanned.runId).toBe(summary.runId);
    expect(workers.filter((w) => w.status === 'done' && w.alreadyDone)).toHaveLength(half.length);
    expect(finalised.status).toBe('finalised');
    const reference = await readOutput('reference/restart/');
    const distributed = await readOutput('output/restart/products.csv/');
    expect(distributed.rows).toEqual(reference.rows);
    expect(distributed.usage.rows).toEqual(single.usage.rows);
    // Only the unfinished shards' texts were sent by the restart.
    expect(server.stats.inputs - inputsBefore).toBeLessThan(single.usage.rows.embedded);
  });
});
