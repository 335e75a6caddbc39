/**
 * A folder of hundreds of small files through the CLI against serve-local:
 * one stream of requests that carry rows of several files, each file's own
 * output, usage and errors.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { estimateTokens } from '../../lambda/embed/modelFacts.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer, LocalServerOptions } from '../../lambda/serve/types.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { cleanEnv, runCli, startCli } from '../helpers/cli.ts';
import { type ExpectedRow, expectNoManifest, expectOutputRows } from '../helpers/expectOutput.ts';
import { readParquetRows } from '../helpers/readOutput.ts';

let root: string;
let server: LocalServer | undefined;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-many-'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(root, { recursive: true, force: true });
});

async function serve(options: LocalServerOptions = {}): Promise<LocalServer> {
  server = await startLocalServer({ maxInputs: 64, ...options });
  return server;
}

function run(s: LocalServer, args: readonly string[], env = cleanEnv()) {
  return runCli(
    ['run', ...args, '--base-url', s.url, '--model', OFFLINE_MODEL, '--batch-size', '64'],
    env,
    root,
  );
}

/** Rows of small file `n`: texts unique across files, so no vector can pass for another file's. */
function rowsOf(n: number, count: number): ExpectedRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `f${n}-${i + 1}`,
    text: `file ${n} row ${i + 1}: item ${n * 1000 + i}`,
  }));
}

/** Writes `files` small files (CSV and JSONL alternating, 20 to 39 rows) below `in/`, nested. */
async function writeSmallFiles(files: number): Promise<{ name: string; rows: ExpectedRow[] }[]> {
  const written: { name: string; rows: ExpectedRow[] }[] = [];
  for (let n = 0; n < files; n++) {
    const rows = rowsOf(n, 20 + (n % 20));
    const jsonl = n % 2 === 1;
    const name = `in/day-${n % 5}/part-${String(n).padStart(4, '0')}.${jsonl ? 'jsonl' : 'csv'}`;
    await mkdir(path.join(root, path.dirname(name)), { recursive: true });
    const body = jsonl
      ? `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`
      : `id,text\n${rows.map((r) => `${r.id},${r.text}`).join('\n')}\n`;
    await writeFile(path.join(root, name), body);
    written.push({ name, rows });
  }
  return written;
}

async function usageOf(dir: string): Promise<UsageReport> {
  return JSON.parse(await readFile(path.join(dir, 'usage.json'), 'utf8'));
}

describe('E2E: a folder of many small files (serve-local, one stream of requests)', () => {
  it('embeds 240 small files in requests that carry rows of several files, each output as a one-file run writes it', async () => {
    // Arrange: a paced endpoint, as a real contract is, so requests queue and fill.
    const s = await serve({ rps: 40, burst: 10 });
    const files = await writeSmallFiles(240);
    const totalRows = files.reduce((n, f) => n + f.rows.length, 0);

    // Act
    const result = await run(s, ['in', '--out', 'out', '--rps', '40', '--burst', '10']);

    // Assess: every file complete, row for row, vector for vector (the offline vector of its own text).
    expect(result.stderr.filter((l) => l.includes('error'))).toEqual([]);
    expect(result.status).toBe(0);
    expect(result.stdout).toHaveLength(files.length);
    let tokens = 0;
    for (const { name, rows } of files) {
      const dir = path.join(root, 'out', name.slice('in/'.length));
      await expectOutputRows(dir, rows);
      const usage = await usageOf(dir);
      // Per-file invariants: the file's own rows, its share of tokens, its requests accounted for.
      expect(usage.rows).toMatchObject({ read: rows.length, embedded: rows.length, rejected: 0 });
      const { sent, succeeded, retried, failed, by_status } = usage.requests;
      expect(succeeded + retried + failed).toBe(sent);
      expect(Object.values(by_status as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(sent);
      expect(usage.tokens.total).toBe(rows.reduce((n, r) => n + estimateTokens(r.text), 0));
      tokens += usage.tokens.total;
    }
    // Requests span files: close to full ones (a file alone would take 240), some carrying more rows than any file has.
    const embeddings = s.log.filter((e) => e.status === 200);
    expect(embeddings.reduce((n, e) => n + e.inputs, 0)).toBe(totalRows);
    expect(embeddings.length).toBeLessThanOrEqual(Math.ceil((Math.ceil(totalRows / 64) * 13) / 10));
    expect(Math.max(...embeddings.map((e) => e.inputs))).toBe(64);
    expect(tokens).toBe(files.flatMap((f) => f.rows).reduce((n, r) => n + estimateTokens(r.text), 0));
    // The command's own line counts each request once, as the endpoint saw them.
    const totals = result.stderr.find((line) => line.startsWith('embed-batch: 240 files'));
    expect(totals).toMatch(
      new RegExp(
        `^embed-batch: 240 files, 240 completed: ${s.stats.requests} requests \\(\\d+ retried\\), ${tokens} tokens in all$`,
      ),
    );

    // A one-file run of a sample writes the very same rows (DuckDB read-back, vectors included).
    for (const sample of [files[0], files[101], files[239]]) {
      const name = sample?.name ?? '';
      const alone = await run(s, [name, '--out', 'alone']);
      expect(alone.status).toBe(0);
      const relative = name;
      const together = await readParquetRows(
        path.join(root, 'out', name.slice('in/'.length), 'part-*.parquet'),
      );
      const single = await readParquetRows(path.join(root, 'alone', relative, 'part-*.parquet'));
      expect(together).toEqual(single);
    }
  });

  it('fails the files that cannot be read, alone: the others complete, each failure one line naming its file', async () => {
    // Arrange: 60 good files, one without the text column, one whose header is not valid UTF-8,
    // and one with a bad record in the middle (rejected, the rest embedded).
    const s = await serve();
    const files = await writeSmallFiles(60);
    await writeFile(path.join(root, 'in/day-0/no-text-column.csv'), 'id,body\n1,hello\n2,world\n');
    await writeFile(
      path.join(root, 'in/day-1/bad-header-bytes.csv'),
      Buffer.concat([Buffer.from('id,te'), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('xt\n1,a\n')]),
    );
    await writeFile(
      path.join(root, 'in/day-2/one-bad-record.jsonl'),
      '{"id":"a","text":"first"}\n{"id":"b","text":\n{"id":"c","text":"third"}\n',
    );

    // Act
    const result = await run(s, ['in', '--out', 'out']);

    // Assess
    expect(result.status).toBe(1);
    const errors = result.stderr.filter((l) => l.startsWith('embed-batch: error:'));
    expect(errors).toHaveLength(2);
    expect(errors.find((l) => l.includes('no-text-column.csv'))).toMatch(/no column "text"/);
    expect(errors.find((l) => l.includes('bad-header-bytes.csv'))).toBeDefined();
    expectNoManifest(path.join(root, 'out/day-0/no-text-column.csv'));
    expectNoManifest(path.join(root, 'out/day-1/bad-header-bytes.csv'));
    for (const { name, rows } of files)
      await expectOutputRows(path.join(root, 'out', name.slice('in/'.length)), rows);
    const partial = await expectOutputRows(path.join(root, 'out/day-2/one-bad-record.jsonl'), [
      { id: 'a', text: 'first' },
      { id: 'c', text: 'third' },
    ]);
    expect(partial.errors).toHaveLength(1);
    expect(partial.errors[0]).toMatchObject({ record: 2 });
  });

  it('stops every open file at its checkpoint on SIGINT; the same command completes them all, each exact', async () => {
    // Arrange: 120 files, paced so the run takes several seconds.
    const s = await serve({ rps: 10, burst: 5 });
    const files = await writeSmallFiles(120);
    const totalRows = files.reduce((n, f) => n + f.rows.length, 0);
    const flags = ['in', '--out', 'out', '--base-url', s.url, '--model', OFFLINE_MODEL, '--batch-size', '64'];
    const outDir = (name: string) => path.join(root, 'out', name.slice('in/'.length));

    // Act: interrupt once some files are complete, then run the same command again.
    const attempt = startCli(['run', ...flags, '--rps', '10', '--burst', '5'], cleanEnv(), root);
    const deadline = Date.now() + 60_000;
    while (files.filter((f) => existsSync(path.join(outDir(f.name), 'manifest.json'))).length < 10) {
      if (Date.now() > deadline) throw new Error('no file completed in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    attempt.child.kill('SIGINT');
    const stopped = await attempt.done;
    const completeAtStop = files.filter((f) => existsSync(path.join(outDir(f.name), 'manifest.json'))).length;
    const resumed = await runCli(['run', ...flags], cleanEnv(), root);

    // Assess: one line for the whole command, exit 130, and every file exact after the rerun.
    expect(stopped.code).toBe(130);
    const lines = stopped.stderr.split('\n').filter((line) => line.startsWith('interrupted'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^interrupted: \d+ file\(s\) stopped with [\d,]+ rows done, \d+ not started; run the same command to resume$/,
    );
    expect(completeAtStop).toBeLessThan(files.length);
    expect(resumed.status, resumed.stderr.join('\n')).toBe(0);
    for (const { name, rows } of files) await expectOutputRows(outDir(name), rows);
    // Paid work kept: what the rerun sent again is at most what was in flight or waiting at the stop.
    const sent = s.log.filter((e) => e.status === 200).reduce((n, e) => n + e.inputs, 0);
    expect(sent).toBeGreaterThanOrEqual(totalRows);
    expect(sent).toBeLessThanOrEqual(totalRows + 64 * 12);
  });

  it('refuses a --files-at-once that is not a positive integer, naming the flag', async () => {
    const s = await serve();
    await writeSmallFiles(1);
    const result = await run(s, ['in', '--files-at-once', '0']);
    expect(result.status).toBe(1);
    expect(result.stderr.join('\n')).toContain('Expected `--files-at-once` to be a positive integer, got 0');
    expect(s.stats.requests).toBe(0);
  });

  it('stops every file after one request when the credentials are refused', async () => {
    // Arrange
    const s = await serve({ apiKey: 'the-right-key' });
    const files = await writeSmallFiles(80);

    // Act
    const result = await run(s, ['in', '--out', 'out'], cleanEnv({ EMBEDDINGS_API_KEY: 'a-wrong-key' }));

    // Assess: one request, one error line, nothing presented as done.
    expect(result.status).toBe(1);
    expect(s.stats.requests).toBe(1);
    const errors = result.stderr.filter((l) => l.startsWith('embed-batch: error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/401|API key/);
    for (const { name } of files) expectNoManifest(path.join(root, 'out', name.slice('in/'.length)));
  });
});
