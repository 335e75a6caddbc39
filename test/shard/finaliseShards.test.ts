import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbedBatchError } from '../../lambda/errors.ts';
import { finaliseShards } from '../../lambda/shard/finaliseShards.ts';
import {
  type ShardPlan,
  type ShardResult,
  type ShardTask,
  shardFiles,
  shardPartFileName,
} from '../../lambda/shard/ShardPlan.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';

const RUN = 'run-1';
const STARTED = new Date('2025-03-01T10:00:00.000Z');
const FINISHED = new Date('2025-03-01T10:05:00.000Z');

let root: string;
let out: string;
const store = new LocalStore();

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-finalise-'));
  out = path.join(root, 'out', 'products');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Builders of the scratch files a planner and its workers leave behind. */
function planOf(shards: number, overrides: Partial<ShardPlan> = {}): ShardPlan {
  return {
    version: 1,
    runId: RUN,
    source: { uri: 's3://bucket/input/products.csv', etag: 'etag-1', bytes: 9_000 },
    format: 'csv',
    gzip: false,
    outputDir: out,
    csvHeader: ['id', 'text'],
    records: shards * 10,
    shards,
    job: { model: 'local/feature-hash', outputFormat: 'parquet', endpoint: 'http://planner' },
    startedAt: STARTED.toISOString(),
    ...overrides,
  };
}

function resultOf(index: number, overrides: Partial<ShardResult> = {}): ShardResult {
  const parts = [0, 1].map((part) => ({
    uri: path.join(out, shardPartFileName(index)(part, 'parquet')),
    rows: 4,
    bytes: 1_000 + index,
  }));
  const errors = shardFiles.errors(out, index);
  return {
    version: 1,
    runId: RUN,
    index,
    model: 'local/feature-hash',
    endpoint: 'http://worker',
    dimensions: 16,
    rows: { read: 10, embedded: 8, rejected: 2, deduplicated: 1, reused: 0 },
    tokens: { prompt: 100 + index, total: 100 + index },
    requests: {
      sent: 3,
      succeeded: 2,
      retried: 1,
      throttled: 1,
      failed: 0,
      by_status: index === 0 ? { '200': 2, '429': 1 } : { '200': 2, '500': 1 },
    },
    outputs: parts,
    errors: { uri: errors, rows: 2, bytes: 0 },
    started_at: STARTED.toISOString(),
    finished_at: FINISHED.toISOString(),
    ...overrides,
  };
}

/** Writes a plan, its shard list, and the given results with their errors files and (dummy) parts. */
async function scratch(plan: ShardPlan, results: readonly ShardResult[]): Promise<void> {
  const tasks: ShardTask[] = Array.from({ length: plan.shards }, (_, index) => ({
    planUri: shardFiles.plan(out),
    runId: plan.runId,
    index,
    start: index * 100,
    end: index * 100 + 99,
    recordOffset: index * 10,
    lineOffset: index * 12,
    records: 10,
  }));
  await store.put(shardFiles.tasks(out), JSON.stringify(tasks));
  await store.put(shardFiles.plan(out), JSON.stringify(plan));
  for (const result of results) {
    const lines = [1, 2].map((n) => `{"record":${result.index * 10 + n},"reason":"shard ${result.index}"}\n`);
    const { bytes } = await store.put(result.errors.uri, lines.join(''));
    for (const part of result.outputs) await store.put(part.uri, 'parquet bytes');
    await store.put(
      shardFiles.result(out, result.index),
      JSON.stringify({ ...result, errors: { ...result.errors, bytes } }),
    );
  }
}

const input = () => ({
  runId: RUN,
  planUri: shardFiles.plan(out),
  outputDir: out,
  sourceUri: 's3://bucket/input/products.csv',
  etag: 'etag-1',
});

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(out, file), 'utf8'));
}

describe('Function: finaliseShards', () => {
  it('sums usage, concatenates errors in shard order and lists parts in shard order', async () => {
    // Prepare
    await scratch(planOf(3), [resultOf(0), resultOf(1), resultOf(2)]);

    // Act
    const outcome = await finaliseShards(input(), { store, now: () => FINISHED });

    // Assess
    expect(outcome.status).toBe('finalised');
    const usage = await readJson('usage.json');
    expect(usage).toMatchObject({
      source: { uri: 's3://bucket/input/products.csv', etag: 'etag-1', bytes: 9_000, format: 'csv' },
      model: 'local/feature-hash',
      dimensions: 16,
      endpoint: 'http://worker',
      rows: { read: 30, embedded: 24, rejected: 6, deduplicated: 3, reused: 0 },
      tokens: { prompt: 303, total: 303 },
      requests: {
        sent: 9,
        succeeded: 6,
        retried: 3,
        throttled: 3,
        failed: 0,
        by_status: { 200: 6, 429: 1, 500: 2 },
      },
      timing: {
        started_at: STARTED.toISOString(),
        finished_at: FINISHED.toISOString(),
        duration_ms: 300_000,
      },
    });
    const errors = await readFile(path.join(out, 'errors.jsonl'), 'utf8');
    expect(
      errors
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).record),
    ).toEqual([1, 2, 11, 12, 21, 22]);
    const manifest = await readJson('manifest.json');
    expect(manifest).toMatchObject({ rows: 24, dimensions: 16, errors: { rows: 6 }, format: 'parquet' });
    expect((manifest.parts as { uri: string }[]).map((part) => path.basename(part.uri))).toEqual([
      'part-00000-00000.parquet',
      'part-00000-00001.parquet',
      'part-00001-00000.parquet',
      'part-00001-00001.parquet',
      'part-00002-00000.parquet',
      'part-00002-00001.parquet',
    ]);
    expect(usage.outputs).toEqual(manifest.parts);
    // The scratch folder is gone; the output folder holds the finished files only.
    expect((await readdir(out)).sort()).toEqual(
      [
        'errors.jsonl',
        'manifest.json',
        'usage.json',
        ...(manifest.parts as { uri: string }[]).map((p) => path.basename(p.uri)),
      ].sort(),
    );
  });

  it('returns the same manifest when run again, after cleanup or before it finished', async () => {
    // Prepare
    await scratch(planOf(2), [resultOf(0), resultOf(1)]);
    const first = await finaliseShards(input(), { store, now: () => FINISHED });
    const manifest = await readFile(path.join(out, 'manifest.json'), 'utf8');

    // Act: rerun after full cleanup; then as if the first attempt died before removing the plan.
    const again = await finaliseShards(input(), { store, now: () => new Date('2025-03-01T11:00:00Z') });
    await store.put(shardFiles.plan(out), JSON.stringify(planOf(2)));
    const afterCrash = await finaliseShards(input(), { store, now: () => new Date('2025-03-01T12:00:00Z') });

    // Assess
    expect(again).toMatchObject({ status: 'already finalised', manifestUri: first.manifestUri });
    expect(afterCrash).toMatchObject({ status: 'already finalised', manifestUri: first.manifestUri });
    expect(await readFile(path.join(out, 'manifest.json'), 'utf8')).toBe(manifest);
    expect(await store.head(shardFiles.plan(out))).toBeUndefined();
  });

  it('fails, writing no manifest, when a shard has no result', async () => {
    // Prepare
    await scratch(planOf(3), [resultOf(0), resultOf(2)]);

    // Act
    const attempt = finaliseShards(input(), { store });

    // Assess
    await expect(attempt).rejects.toThrow(/shard 1 has no result/);
    expect(await store.head(path.join(out, 'manifest.json'))).toBeUndefined();
  });

  it.each<[string, Partial<ShardResult>, RegExp]>([
    ['a result of another run', { runId: 'run-0' }, /not shard 1 of run run-1/],
    ['vectors of another dimension', { dimensions: 32 }, /32 dimensions, earlier shards 16/],
    [
      'another record count than planned',
      { rows: { read: 9, embedded: 7, rejected: 2, deduplicated: 0, reused: 0 } },
      /shard 1 read 9 records, the plan counted 10/,
    ],
  ])('refuses %s', async (_case, odd, message) => {
    // Prepare
    await scratch(planOf(2), [resultOf(0), resultOf(1, odd)]);

    // Act, Assess
    await expect(finaliseShards(input(), { store })).rejects.toThrow(message);
    expect(await store.head(path.join(out, 'manifest.json'))).toBeUndefined();
  });

  it('refuses a plan replaced by a newer run', async () => {
    // Prepare
    await scratch(planOf(1, { runId: 'run-2' }), [resultOf(0, { runId: 'run-2' })]);

    // Act, Assess
    await expect(finaliseShards(input(), { store })).rejects.toThrow(EmbedBatchError);
    await expect(finaliseShards(input(), { store })).rejects.toThrow(/replaced by run run-2/);
  });

  it('finalises an empty file (no shards) into an empty, complete output', async () => {
    // Prepare
    await scratch(
      planOf(0, { records: 0, source: { uri: 's3://bucket/input/products.csv', etag: 'etag-1', bytes: 0 } }),
      [],
    );

    // Act
    await finaliseShards(input(), { store, now: () => FINISHED });

    // Assess
    expect(await readJson('manifest.json')).toMatchObject({
      rows: 0,
      dimensions: null,
      parts: [],
      errors: { rows: 0 },
    });
    expect(await readJson('usage.json')).toMatchObject({ endpoint: 'http://planner', rows: { read: 0 } });
    expect(await readFile(path.join(out, 'errors.jsonl'), 'utf8')).toBe('');
  });

  it('fails when there is neither a plan nor a finished output', async () => {
    // Act, Assess
    await expect(finaliseShards(input(), { store })).rejects.toThrow(/no plan at .* and no finished output/);
  });
});
