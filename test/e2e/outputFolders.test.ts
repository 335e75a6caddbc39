import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import type { Manifest } from '../../lambda/write/Manifest.ts';
import { cleanEnv, runCli, startCli } from '../helpers/cli.ts';
import { type ExpectedRow, expectOutputRows } from '../helpers/expectOutput.ts';
import { duckdbQuery, sqlString } from '../helpers/readOutput.ts';

let root: string;
let server: LocalServer | undefined;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-folders-'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(root, { recursive: true, force: true });
});

function rowsOf(prefix: string, n: number): ExpectedRow[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i + 1}`,
    text: `${prefix} item ${i + 1} of ${n}`,
  }));
}

const csvOf = (rows: readonly ExpectedRow[]) =>
  `id,text\n${rows.map((r) => `${r.id},${r.text}`).join('\n')}\n`;
const jsonlOf = (rows: readonly ExpectedRow[]) => rows.map((r) => JSON.stringify(r)).join('\n');

/** `embed-batch run ...` in this process against `s`. */
function run(s: LocalServer, args: readonly string[], cwd = root) {
  return runCli(['run', ...args, '--base-url', s.url, '--model', OFFLINE_MODEL], cleanEnv(), cwd);
}

/** The real binary in a child process, with a handle to signal it. */
function spawnRun(s: LocalServer, args: readonly string[], cwd = root) {
  return startCli(['run', ...args, '--base-url', s.url, '--model', OFFLINE_MODEL], cleanEnv(), cwd);
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Rows DuckDB counts over every Parquet file anywhere below `dir`. */
async function globRows(dir: string): Promise<number> {
  const [row] = await duckdbQuery(
    `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(path.join(dir, '**', '*.parquet'))})`,
  );
  return Number(row?.n);
}

async function manifestOf(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * At this moment: no manifest, or one whose parts all exist and whose rows are
 * exactly what a glob reads. A sample during which the manifest changed (a
 * commit between the two reads) says nothing and is passed over.
 */
async function expectConsistent(dir: string): Promise<boolean> {
  const manifest = await manifestOf(dir);
  if (manifest === undefined) return false;
  const exist = manifest.parts.map((part) => existsSync(path.join(dir, path.basename(part.uri))));
  const rows = await globRows(dir);
  if ((await manifestOf(dir))?.created_at !== manifest.created_at) return false;
  expect(exist.every(Boolean), `every part ${dir}/manifest.json lists exists`).toBe(true);
  expect(rows).toBe(manifest.rows);
  return true;
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode === null) child.kill(signal);
}

describe('Command: embed-batch run (output folders)', () => {
  it('gives x.csv, x.jsonl and x.csv.gz of one folder three complete outputs, every row once', async () => {
    // Prepare
    server = await startLocalServer();
    const input = path.join(root, 'in');
    await mkdir(input);
    const [a, b, c] = [rowsOf('csv', 5), rowsOf('jsonl', 4), rowsOf('gz', 3)];
    await writeFile(path.join(input, 'x.csv'), csvOf(a));
    await writeFile(path.join(input, 'x.jsonl'), jsonlOf(b));
    await writeFile(path.join(input, 'x.csv.gz'), gzipSync(csvOf(c)));

    // Act
    const result = await run(server, ['in', '--out', 'out']);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    await expectOutputRows(path.join(root, 'out', 'x.csv'), a);
    await expectOutputRows(path.join(root, 'out', 'x.jsonl'), b);
    await expectOutputRows(path.join(root, 'out', 'x.csv.gz'), c);
    expect(await globRows(path.join(root, 'out'))).toBe(12);
  });

  it('treats a new export into the same folder as a replacement that reuses the vectors of the old one', async () => {
    // Prepare: yesterday's export, embedded; today's has one row changed and one added
    server = await startLocalServer();
    const rows = rowsOf('e', 30);
    const today = [
      ...rows.slice(0, 29),
      { id: 'e-30', text: 'changed today' },
      { id: 'e-31', text: 'new today' },
    ];
    for (const [day, content] of [
      ['2026-12-01', rows],
      ['2026-12-02', today],
    ] as const) {
      await mkdir(path.join(root, 'exports', day), { recursive: true });
      await writeFile(path.join(root, 'exports', day, 'x.jsonl'), jsonlOf(content));
    }
    expect((await run(server, ['exports/2026-12-01', '--out', 'vectors'])).status).toBe(0);
    const inputsBefore = server.stats.inputs;

    // Act
    const result = await run(server, ['exports/2026-12-02', '--out', 'vectors']);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const output = await expectOutputRows(path.join(root, 'vectors', 'x.jsonl'), today);
    expect(server.stats.inputs - inputsBefore).toBe(2);
    expect((output.manifest as unknown as Manifest).source.uri).toBe(
      path.join(root, 'exports', '2026-12-02', 'x.jsonl'),
    );
    expect((output.usage as { rows: { reused: number } }).rows.reused).toBe(29);
  });

  it('refuses two inputs of one name from outside the working folder before embedding anything, naming both', async () => {
    // Prepare
    server = await startLocalServer();
    for (const dir of ['a', 'b']) {
      await mkdir(path.join(root, dir));
      await writeFile(path.join(root, dir, 'x.csv'), csvOf(rowsOf(dir, 2)));
    }
    const cwd = path.join(root, 'work');
    await mkdir(cwd);

    // Act
    const result = await run(server, [path.join(root, 'a', 'x.csv'), path.join(root, 'b', 'x.csv')], cwd);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toEqual([
      `embed-batch: error: ${path.join(root, 'a', 'x.csv')} and ${path.join(root, 'b', 'x.csv')} would both write ${path.relative(process.cwd(), path.join(cwd, 'out', 'x.csv'))}; run them with different --out folders`,
    ]);
    expect(server.stats.requests).toBe(0);
  });

  it('runs `run .` three times with the same outputs every time and never takes its outputs as inputs', async () => {
    // Prepare
    server = await startLocalServer();
    const top = rowsOf('top', 3);
    const nested = rowsOf('nested', 2);
    await writeFile(path.join(root, 'a.csv'), csvOf(top));
    await mkdir(path.join(root, 'sub'));
    await writeFile(path.join(root, 'sub', 'b.jsonl'), jsonlOf(nested));
    // An output folder somewhere else below the input, from a run with another --out.
    expect((await run(server, ['a.csv', '--out', 'sub/vectors'])).status).toBe(0);

    // Act
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await run(server, ['.']));

    // Assess
    for (const result of results) {
      expect(result.status, result.stderr.join('\n')).toBe(0);
      expect(result.stdout).toHaveLength(2);
      expect(result.stderr.some((line) => /skipped \d+ file\(s\) in output folders/.test(line))).toBe(true);
    }
    await expectOutputRows(path.join(root, 'out', 'a.csv'), top);
    await expectOutputRows(path.join(root, 'out', 'sub', 'b.jsonl'), nested);
    expect((await readdir(path.join(root, 'out'))).sort()).toEqual(['a.csv', 'sub']);
    expect((await readdir(path.join(root, 'out', 'sub'))).sort()).toEqual(['b.jsonl']);
    expect(results[2]?.stdout.every((line) => line.includes('0 requests'))).toBe(true);
  });

  it('keeps the earlier output complete when the endpoint is unreachable, and the next run reuses it', async () => {
    // Prepare
    server = await startLocalServer();
    const rows = rowsOf('r', 20);
    await writeFile(path.join(root, 'x.jsonl'), jsonlOf(rows));
    expect((await run(server, ['x.jsonl'])).status).toBe(0);
    const added = { id: 'r-21', text: 'a row added later' };
    await writeFile(path.join(root, 'x.jsonl'), jsonlOf([...rows, added]));
    const closed = await startLocalServer();
    await closed.close();

    // Act
    const failed = await run(closed, ['x.jsonl']);
    const kept = await manifestOf(path.join(root, 'out', 'x.jsonl'));
    const inputsBefore = server.stats.inputs;
    const good = await run(server, ['x.jsonl']);

    // Assess
    expect(failed.status).toBe(1);
    expect(kept?.rows).toBe(20);
    expect(good.status, good.stderr.join('\n')).toBe(0);
    await expectOutputRows(path.join(root, 'out', 'x.jsonl'), [...rows, added]);
    expect(server.stats.inputs - inputsBefore).toBe(1);
  });

  it('lets a second run into a folder that a live run holds fail at once naming the holder; a manifest is always consistent', async () => {
    // Prepare: a run slow enough to overlap, over an earlier complete output
    server = await startLocalServer({ latencyMs: 40 });
    const rows = rowsOf('c', 3_000);
    await writeFile(path.join(root, 'x.jsonl'), jsonlOf(rows.slice(0, 1_000)));
    expect((await run(server, ['x.jsonl'])).status).toBe(0);
    await writeFile(path.join(root, 'x.jsonl'), jsonlOf(rows));
    const dir = path.join(root, 'out', 'x.jsonl');

    // Act
    const first = spawnRun(server, ['x.jsonl', '--batch-size', '50', '--concurrency', '2']);
    await until(() => existsSync(path.join(dir, '_scratch', 'lock.json')));
    const second = await run(server, ['x.jsonl']);
    let checks = 0;
    let finished = false;
    void first.done.then(() => {
      finished = true;
    });
    while (!finished) {
      await expectConsistent(dir);
      checks++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const end = await first.done;

    // Assess
    expect(second.status).toBe(1);
    expect(second.stderr.join('\n')).toMatch(/is being written by another run \(pid \d+ on .+, since /);
    expect(end.code, end.stderr).toBe(0);
    expect(checks).toBeGreaterThan(3);
    expect(await expectConsistent(dir)).toBe(true);
    await expectOutputRows(dir, rows);
    expect(existsSync(path.join(dir, '_scratch'))).toBe(false);
  });

  it('never double-counts under a manifest when a reusing rerun is killed at any point, and the next run leaves nothing stray', async () => {
    // Prepare
    server = await startLocalServer({ latencyMs: 20 });
    const rows = rowsOf('k', 2_000);
    const dir = path.join(root, 'out', 'x.jsonl');
    await writeFile(path.join(root, 'x.jsonl'), jsonlOf(rows.slice(0, 1_200)));
    expect((await run(server, ['x.jsonl', '--part-rows', '300'])).status).toBe(0);
    await writeFile(path.join(root, 'x.jsonl'), jsonlOf(rows));

    for (const afterMs of [150, 400, 700, 1_000]) {
      // Act: kill -9 a rerun that reuses the earlier output
      const rerun = spawnRun(server, [
        'x.jsonl',
        '--part-rows',
        '300',
        '--batch-size',
        '20',
        '--checkpoint-seconds',
        '0.2',
      ]);
      await new Promise((resolve) => setTimeout(resolve, afterMs));
      kill(rerun.child, 'SIGKILL');
      await rerun.done;

      // Assess: whatever was left, a present manifest matches what any reader globs
      await expectConsistent(dir);
    }
    const last = await run(server, ['x.jsonl', '--part-rows', '300']);
    expect(last.status, last.stderr.join('\n')).toBe(0);
    const output = await expectOutputRows(dir, rows);
    expect(await globRows(dir)).toBe(2_000);
    expect((await readdir(dir)).sort()).toEqual(
      [
        'errors.jsonl',
        'manifest.json',
        'usage.json',
        ...output.manifest.parts.map((p) => path.basename(p.uri)),
      ].sort(),
    );
  });
});
