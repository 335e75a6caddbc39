import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import type { Checkpoint } from '../../lambda/write/Checkpoint.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { cleanEnv, runCli, startCli } from '../helpers/cli.ts';
import { type ExpectedRow, expectOutputRows } from '../helpers/expectOutput.ts';

const ROWS = 20_000;
const BATCH = 100;
const CONCURRENCY = 2;
/** Texts in flight or waiting in order at most: what a stop may cost beyond the last checkpoint. */
const WINDOW = 2 * CONCURRENCY * BATCH;
const FLAGS = [
  '--batch-size',
  String(BATCH),
  '--concurrency',
  String(CONCURRENCY),
  '--checkpoint-seconds',
  '0.5',
];

let root: string;
let server: LocalServer;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-resume-'));
  // Slow enough that a run takes a few seconds and can be cut short.
  server = await startLocalServer({ latencyMs: 25 });
});

afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Distinct texts, with a blank one every 997 records (rejected), so errors.jsonl must survive a resume too. */
function records(n: number): { id: string; text: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r-${i + 1}`,
    text:
      i % 997 === 500 ? '   ' : `record ${i + 1}: ${['alpha', 'beta', 'gamma', 'delta'][i % 4]} ${i * 7919}`,
  }));
}

const embeddable = (all: readonly { id: string; text: string }[]): ExpectedRow[] =>
  all.filter((r) => r.text.trim() !== '');

function spawnRun(args: readonly string[]) {
  return startCli(['run', ...args, '--base-url', server.url, '--model', OFFLINE_MODEL], cleanEnv(), root);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the run in `dir` has checkpointed past `records` (it is well under way), then `extraMs` more. */
async function whenPast(dir: string, records: number, extraMs: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (((await checkpointOf(dir))?.cursor.records ?? 0) <= records) {
    if (Date.now() > deadline) throw new Error(`no checkpoint past ${records} records in ${dir}`);
    await sleep(20);
  }
  await sleep(extraMs);
}

async function checkpointOf(dir: string): Promise<Checkpoint | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, '_scratch', 'checkpoint.json'), 'utf8')) as Checkpoint;
  } catch {
    return undefined;
  }
}

async function errorsOf(dir: string): Promise<unknown[]> {
  const text = await readFile(path.join(dir, 'errors.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('Command: embed-batch run (checkpoints and resume)', () => {
  it.each([
    [
      'JSONL',
      'big.jsonl',
      (rows: ReturnType<typeof records>) => rows.map((r) => JSON.stringify(r)).join('\n'),
    ],
    [
      'CSV (resumed by a seek to the cursor)',
      'big.csv',
      (rows: ReturnType<typeof records>) => `id,text\n${rows.map((r) => `${r.id},"${r.text}"`).join('\n')}\n`,
    ],
  ])(
    'after kill -9 at several points, a %s rerun sends only what was not checkpointed and writes what one run writes',
    async (_format, name, encode) => {
      // Prepare: the reference, an uninterrupted run into another folder
      const all = records(ROWS);
      await writeFile(path.join(root, name), encode(all));
      const reference = await runCli(
        ['run', name, '--out', 'reference', '--base-url', server.url, '--model', OFFLINE_MODEL, ...FLAGS],
        cleanEnv(),
        root,
      );
      expect(reference.status, reference.stderr.join('\n')).toBe(0);
      const dir = path.join(root, 'out', name);

      // Act: two attempts killed at different points, then one that finishes
      const lost: number[] = [];
      for (const afterMs of [300, 700]) {
        const before = (await checkpointOf(dir))?.cursor.records ?? 0;
        const sentBefore = server.stats.inputs;
        const attempt = spawnRun([name, ...FLAGS]);
        await whenPast(dir, before, afterMs);
        attempt.child.kill('SIGKILL');
        await attempt.done;
        const after = (await checkpointOf(dir))?.cursor.records ?? 0;
        lost.push(server.stats.inputs - sentBefore - (after - before));
      }
      const resumeAt = (await checkpointOf(dir))?.cursor.records ?? 0;
      const sentBefore = server.stats.inputs;
      const last = spawnRun([name, ...FLAGS]);
      const end = await last.done;

      // Assess
      expect(end.code, end.stderr).toBe(0);
      expect(resumeAt).toBeGreaterThan(0);
      // The last attempt sent exactly the texts the checkpoint did not hold (the blank ones are never sent).
      const blanksLeft = all.slice(resumeAt).filter((r) => r.text.trim() === '').length;
      expect(server.stats.inputs - sentBefore).toBe(ROWS - resumeAt - blanksLeft);
      // Each kill cost at most about a checkpoint interval of work plus one window.
      for (const texts of lost) expect(texts).toBeLessThanOrEqual(WINDOW + 0.5 * 8_000);
      const output = await expectOutputRows(dir, embeddable(all));
      expect(await errorsOf(dir)).toEqual(await errorsOf(path.join(root, 'reference', name)));
      const usage = output.usage as unknown as UsageReport;
      expect(usage.rows.read).toBe(usage.rows.embedded + usage.rows.rejected);
      expect(usage.rows.read).toBe(ROWS);
      expect(usage.attempts).toBe(3);
      expect(usage.rows.resumed).toBe(resumeAt);
      expect((await readdir(dir)).filter((entry) => entry.startsWith('_'))).toEqual([]);
    },
  );

  it('stops cleanly on SIGINT: one line, exit 130, no temp files; the same command resumes and completes', async () => {
    // Prepare
    const all = records(ROWS);
    await writeFile(
      path.join(root, 'big.csv'),
      `id,text\n${all.map((r) => `${r.id},"${r.text}"`).join('\n')}\n`,
    );
    const spillsBefore = (await readdir(tmpdir())).filter((n) => n.startsWith('embed-batch-errors-'));
    const dir = path.join(root, 'out', 'big.csv');

    // Act
    const attempt = spawnRun(['big.csv', ...FLAGS]);
    await whenPast(dir, 0, 300);
    attempt.child.kill('SIGINT');
    const stopped = await attempt.done;
    const checkpoint = await checkpointOf(dir);
    const spillsAfter = (await readdir(tmpdir())).filter((n) => n.startsWith('embed-batch-errors-'));
    const manifestAfterStop = existsSync(path.join(dir, 'manifest.json'));
    const sentBefore = server.stats.inputs;
    const resumed = await runCli(
      ['run', 'big.csv', '--base-url', server.url, '--model', OFFLINE_MODEL, ...FLAGS],
      cleanEnv(),
      root,
    );

    // Assess
    expect(stopped.code).toBe(130);
    const lines = stopped.stderr.split('\n').filter((line) => line.startsWith('interrupted'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^interrupted: [\d,]+ of ~[\d,]+ rows done in .*big\.csv; run the same command to resume$/,
    );
    expect(checkpoint?.cursor.records).toBeGreaterThan(0);
    expect(lines[0]).toContain(`interrupted: ${checkpoint?.cursor.records.toLocaleString('en-US')} of ~`);
    expect(spillsAfter).toEqual(spillsBefore);
    expect(manifestAfterStop).toBe(false);
    expect(resumed.status, resumed.stderr.join('\n')).toBe(0);
    const done = checkpoint?.cursor.records ?? 0;
    const blanksLeft = all.slice(done).filter((r) => r.text.trim() === '').length;
    expect(server.stats.inputs - sentBefore).toBe(ROWS - done - blanksLeft);
    await expectOutputRows(dir, embeddable(all));
  });

  it('exits 143 on SIGTERM with its progress checkpointed', async () => {
    // Prepare
    await writeFile(
      path.join(root, 'big.jsonl'),
      records(ROWS)
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );

    // Act
    const attempt = spawnRun(['big.jsonl', ...FLAGS]);
    await whenPast(path.join(root, 'out', 'big.jsonl'), 0, 300);
    attempt.child.kill('SIGTERM');
    const stopped = await attempt.done;

    // Assess
    expect(stopped.code).toBe(143);
    expect(stopped.stderr).toMatch(/interrupted: [\d,]+ of ~[\d,]+ rows done/);
    expect((await checkpointOf(path.join(root, 'out', 'big.jsonl')))?.cursor.records).toBeGreaterThan(0);
  });
});
