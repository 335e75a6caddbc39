import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { ConfigError, EmbedBatchError, InputError } from '../../lambda/errors.ts';
import type { JobPorts } from '../../lambda/pipelineTypes.ts';
import { resolveJobOptions } from '../../lambda/resolveJobOptions.ts';
import { planLargeFile } from '../../lambda/shard/planLargeFile.ts';
import { runShard } from '../../lambda/shard/runShard.ts';
import { parseTasks, type ShardPlan, type ShardTask, shardFiles } from '../../lambda/shard/ShardPlan.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';

const store = new LocalStore();
const options = resolveJobOptions({ model: OFFLINE_MODEL, batchSize: 8, concurrency: 2 });
let root: string;
let out: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-shard-'));
  out = path.join(root, 'out', 'products');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** How many of this process's file descriptors are open on `file` (Linux: /proc/self/fd). */
async function openDescriptors(file: string): Promise<number> {
  let open = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(path.join('/proc/self/fd', fd)).catch(() => '');
    if (target === file) open++;
  }
  return open;
}

function ports(model = OFFLINE_MODEL): JobPorts {
  const { transport, embedder } = createEmbedder({ model, concurrency: 2 });
  return { store, embedder, model, endpoint: transport.endpoint };
}

function csv(rows: number): string {
  const lines = ['id,text'];
  for (let i = 1; i <= rows; i++) lines.push(`r-${i},"text number ${i}, with a comma"`);
  return `${lines.join('\n')}\n`;
}

async function plan(file: string, shardBytes = 200): Promise<{ tasks: ShardTask[]; plan: ShardPlan }> {
  await planLargeFile(
    file,
    out,
    { shardBytes, job: options, model: OFFLINE_MODEL, endpoint: 'offline' },
    { store, runId: () => 'run-7', now: () => new Date('2025-03-01T10:00:00Z') },
  );
  const tasksUri = shardFiles.tasks(out);
  return {
    tasks: parseTasks((await store.getText(tasksUri)) ?? '', tasksUri),
    plan: JSON.parse((await store.getText(shardFiles.plan(out))) ?? '') as ShardPlan,
  };
}

describe('Function: planLargeFile', () => {
  it('writes the shard list and the plan, and removes what an earlier run left in _shards/, keeping the earlier output', async () => {
    // Prepare
    const file = path.join(root, 'products.csv');
    await store.put(file, csv(40));
    await store.put(shardFiles.errors(out, 7), '{"record":1}\n');
    await store.put(path.join(out, 'manifest.json'), '{"version":1}');

    // Act
    const { tasks, plan: written } = await plan(file);

    // Assess
    expect(tasks.length).toBeGreaterThan(3);
    expect(tasks[0]).toMatchObject({ planUri: shardFiles.plan(out), runId: 'run-7', index: 0, start: 0 });
    expect(tasks.reduce((sum, task) => sum + (task.records ?? 0), 0)).toBe(40);
    expect(written).toMatchObject({
      version: 1,
      runId: 'run-7',
      format: 'csv',
      gzip: false,
      csvHeader: ['id', 'text'],
      records: 40,
      shards: tasks.length,
      job: { model: OFFLINE_MODEL, outputFormat: 'parquet', endpoint: 'offline' },
      startedAt: '2025-03-01T10:00:00.000Z',
    });
    expect((await readdir(path.join(out, '_shards'))).sort()).toEqual(['plan.json', 'shards.json']);
    // An earlier complete output stays in place until the finaliser commits the new one.
    expect(await store.getText(path.join(out, 'manifest.json'))).toBe('{"version":1}');
  });

  it('fails before any shard runs when the CSV header has no text column', async () => {
    // Prepare
    const file = path.join(root, 'products.csv');
    await store.put(file, 'id,title\n1,a\n2,b\n');

    // Act, Assess
    await expect(plan(file)).rejects.toThrow(InputError);
    await expect(plan(file)).rejects.toThrow(/no column "text"/);
    expect(await store.head(shardFiles.plan(out))).toBeUndefined();
  });

  it('gives a gzip object one shard (it cannot be read from the middle), which reads every record', async () => {
    // Prepare
    const file = path.join(root, 'products.csv.gz');
    await store.put(file, gzipSync(csv(30)));

    // Act
    const { tasks } = await plan(file, 10);
    const { result } = await runShard(tasks[0]!, options, ports());

    // Assess
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ start: 0, records: null });
    expect(result.rows).toMatchObject({ read: 30, embedded: 30 });
  });
});

describe('Function: runShard', () => {
  it('refuses to read an object that changed since it was planned, and closes it at once', async () => {
    // Prepare
    const file = path.join(root, 'products.csv');
    await store.put(file, csv(40));
    const { tasks } = await plan(file);
    await store.put(file, csv(41));

    // Act, Assess
    await expect(runShard(tasks[1]!, options, ports())).rejects.toThrow(/changed since it was planned/);
    expect(await store.head(shardFiles.result(out, 1))).toBeUndefined();
    // Not left to garbage collection, which closes it with a warning on Node 24 (DEP0137).
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await openDescriptors(file)).toBe(0);
  });

  it('fails, leaving no result, when the shard holds another number of records than planned', async () => {
    // Prepare
    const file = path.join(root, 'products.csv');
    await store.put(file, csv(40));
    const { tasks } = await plan(file);

    // Act
    const attempt = runShard({ ...tasks[2]!, records: (tasks[2]!.records ?? 0) + 1 }, options, ports());

    // Assess
    await expect(attempt).rejects.toThrow(EmbedBatchError);
    await expect(runShard({ ...tasks[2]!, records: 0 }, options, ports())).rejects.toThrow(
      /the plan counted 0; its output is not used/,
    );
    expect(await store.head(shardFiles.result(out, 2))).toBeUndefined();
  });

  it('refuses a task of a replaced plan and a worker with another model', async () => {
    // Prepare
    const file = path.join(root, 'products.csv');
    await store.put(file, csv(10));
    const { tasks } = await plan(file);

    // Act, Assess
    await expect(runShard({ ...tasks[0]!, runId: 'run-6' }, options, ports())).rejects.toThrow(
      /belongs to run run-6, but the plan is now run run-7/,
    );
    await expect(runShard(tasks[0]!, options, ports('other/model'))).rejects.toThrow(ConfigError);
  });

  it('numbers records and lines globally in its errors and writes parts named by shard', async () => {
    // Prepare
    const file = path.join(root, 'products.csv');
    await store.put(file, `${csv(20)}r-21,""\nr-22,"   "\n`);
    const { tasks } = await plan(file, 300);
    const last = tasks.at(-1)!;

    // Act
    const { result, alreadyDone } = await runShard(last, options, ports());

    // Assess
    expect(alreadyDone).toBe(false);
    const errors = ((await store.getText(result.errors.uri)) ?? '')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(errors).toEqual([
      { record: 21, line: 22, id: 'r-21', reason: expect.stringContaining('empty text') },
      { record: 22, line: 23, id: 'r-22', reason: expect.stringContaining('empty text') },
    ]);
    expect(result.outputs.map((part) => path.basename(part.uri))).toEqual([
      `part-${String(last.index).padStart(5, '0')}-00000.parquet.partial`,
    ]);
  });
});
