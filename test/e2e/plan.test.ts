import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { runCli } from '../helpers/cli.ts';
import { FIXTURES_DIR } from '../helpers/readFixtures.ts';

let root: string;
let out: string;
let server: LocalServer;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-plan-'));
  out = path.join(root, 'out');
  server = await startLocalServer({});
});

afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Flags both commands get, so the plan is made for exactly the run that follows. */
function jobFlags(extra: string[] = []): string[] {
  return ['--out', out, '--base-url', server.url, '--model', OFFLINE_MODEL, '--batch-size', '8', ...extra];
}

async function plan(files: string[], extra: string[] = []) {
  const result = await runCli(['plan', ...files, ...jobFlags(extra), '--json']);
  return { ...result, json: JSON.parse(result.stdout.join('\n')) as PlanJson };
}

function run(files: string[], extra: string[] = []) {
  return runCli(['run', ...files, ...jobFlags(extra)]);
}

async function usageOf(file: string): Promise<UsageReport> {
  return JSON.parse(
    await readFile(path.join(out, path.relative(root, file), 'usage.json'), 'utf8'),
  ) as UsageReport;
}

interface FileJson {
  source: string;
  output: string;
  rows: number;
  rejected: number;
  duplicates: number;
  reused: number;
  to_embed: number;
  tokens: number;
  requests: number;
  seconds: number | null;
  bound: string | null;
  cost: number | null;
  error: string | null;
  saved: string | null;
}
interface PlanJson {
  model: string;
  endpoint: string;
  packing: string;
  settings: Record<string, unknown>;
  price: { per_million_tokens: number; source: string } | null;
  files: FileJson[];
  total: Omit<FileJson, 'source' | 'output' | 'error' | 'saved'> & { files: number };
}

/**
 * A JSONL export with every kind of record the plan must count as the run does:
 * texts repeated (duplicates), bad JSON, a missing and an empty text
 * (rejected), a record over --max-record-bytes (rejected), long texts that
 * close batches by their estimated tokens.
 */
function exportLines(
  n: number,
  edit: (i: number, text: string) => string | undefined = (_, t) => t,
): string[] {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    const base =
      i % 11 === 0
        ? `a text seen before ${i % 3}` // repeats: duplicates after the first of each
        : i % 17 === 0
          ? `long ${'word '.repeat(400)}${i}` // ~2,000 bytes: about 680 estimated tokens
          : `row ${i} of the export, about product ${i * 7}`;
    const text = edit(i, base);
    if (text === undefined) continue;
    if (i === 5) lines.push('{"id": "r5", "text": ');
    else if (i === 6) lines.push(JSON.stringify({ id: `r${i}` }));
    else if (i === 7) lines.push(JSON.stringify({ id: `r${i}`, text: '' }));
    else if (i === 8) lines.push(JSON.stringify({ id: `r${i}`, text: 'x'.repeat(3000) }));
    else lines.push(JSON.stringify({ id: `r${i}`, text }));
  }
  return lines;
}

function expectEstimateMatches(file: FileJson, usage: UsageReport): void {
  expect({
    rows: file.rows,
    rejected: file.rejected,
    duplicates: file.duplicates,
    reused: file.reused,
    requests: file.requests,
  }).toEqual({
    rows: usage.rows.read,
    rejected: usage.rows.rejected,
    duplicates: usage.rows.deduplicated,
    reused: usage.rows.reused,
    requests: usage.requests.sent,
  });
  // serve-local counts tokens with the same estimator the plan uses; a real tokenizer counts fewer.
  expect(usage.tokens.total).toBeLessThanOrEqual(file.tokens);
  expect(usage.tokens.total).toBeGreaterThanOrEqual(Math.floor(file.tokens * 0.99));
  expect(server.stats.inputs).toBeGreaterThanOrEqual(file.to_embed);
}

describe('Command: embed-batch plan', () => {
  it('estimates what the run then counts: rows, rejects, duplicates, reuse, requests and tokens, also after an edit', async () => {
    // Prepare
    const file = path.join(root, 'export.jsonl');
    await writeFile(file, exportLines(300).join('\n'));
    const flags = ['--max-record-bytes', '2500'];

    // Act: plan, run
    const first = await plan([file], flags);
    const inputsBefore = server.stats.inputs;
    const firstRun = await run([file], flags);

    // Assess
    expect(first.status, first.stderr.join('\n')).toBe(0);
    expect(firstRun.status, firstRun.stderr.join('\n')).toBe(0);
    const [firstFile] = first.json.files;
    if (firstFile === undefined) throw new Error('no file in the plan');
    expect(firstFile.rejected).toBe(4);
    expect(firstFile.duplicates).toBeGreaterThan(20);
    expect(firstFile.reused).toBe(0);
    const firstUsage = await usageOf(file);
    expectEstimateMatches(firstFile, firstUsage);
    expect(server.stats.inputs - inputsBefore).toBe(firstFile.to_embed);

    // Prepare: edit, delete and add rows; Act: plan again, run again
    const edited = exportLines(320, (i, text) =>
      i % 40 === 0 ? undefined : i % 23 === 0 || i > 300 ? `${text} (changed)` : text,
    );
    await writeFile(file, edited.join('\n'));
    const second = await plan([file], flags);
    const inputs = server.stats.inputs;
    const secondRun = await run([file], flags);

    // Assess
    expect(secondRun.status, secondRun.stderr.join('\n')).toBe(0);
    const [secondFile] = second.json.files;
    if (secondFile === undefined) throw new Error('no file in the plan');
    expect(secondFile.reused).toBeGreaterThan(200);
    const secondUsage = await usageOf(file);
    expectEstimateMatches(secondFile, secondUsage);
    expect(server.stats.inputs - inputs).toBe(secondFile.to_embed);
  });

  it('counts requests as the run packs them across a long run of reused rows', async () => {
    // Prepare: 3,000 rows embedded once; then three far-apart rows change. Reused rows wait in the
    // pipeline's entries too, but an entry's end no longer closes the request being packed: one request.
    const file = path.join(root, 'big.jsonl');
    const lines = (changed: Set<number>) =>
      Array.from({ length: 3000 }, (_, i) =>
        JSON.stringify({ id: `r${i}`, text: `row ${i}${changed.has(i) ? ' (changed)' : ''}` }),
      ).join('\n');
    await writeFile(file, lines(new Set()));
    expect((await run([file])).status).toBe(0);
    await writeFile(file, lines(new Set([10, 1500, 2990])));

    // Act
    const planned = await plan([file]);
    const requestsBefore = server.stats.requests;
    const result = await run([file]);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const usage = await usageOf(file);
    expect(planned.json.files[0]?.requests).toBe(usage.requests.sent);
    expect(server.stats.requests - requestsBefore).toBe(usage.requests.sent);
    expect(usage.requests.sent).toBe(1);
    expect(planned.json.files[0]?.reused).toBe(2997);
  });

  it('types kept JSONL fields as the run does, so values that do not convert are rejected in both', async () => {
    // Prepare: the typed-fields fixture, whose later records hold values its first records' types refuse
    const file = path.join(root, 'typed-fields.jsonl');
    await copyFile(path.join(FIXTURES_DIR, 'typed-fields.jsonl'), file);
    const keep = ['--keep-columns', 'price,qty,active,tags,zip,meta,mixed,note'];

    // Act
    const planned = await plan([file], keep);
    const result = await run([file], keep);

    // Assess
    const usage = await usageOf(file);
    expect(usage.rows.rejected).toBeGreaterThan(0);
    expect(planned.json.files[0]?.rejected).toBe(usage.rows.rejected);
    expect(planned.json.files[0]?.rows).toBe(usage.rows.read);
    expect(result.status).toBe(0);
  });

  it('leaves its estimate for the next run, which carries it into usage.json beside the actual figures', async () => {
    // Prepare
    const file = path.join(root, 'products.jsonl');
    await writeFile(file, exportLines(60).join('\n'));

    // Act
    const planned = await plan([file], ['--price-per-million-tokens', '0.25', '--rps', '20']);
    const scratch = await readdir(path.join(out, 'products.jsonl', '_scratch'));
    const result = await run([file], ['--rps', '20']);

    // Assess
    expect(scratch).toEqual(['plan.json']);
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const usage = await usageOf(file);
    const f = planned.json.files[0];
    expect(usage.estimate).toMatchObject({
      rows: f?.rows,
      rejected: f?.rejected,
      duplicates: f?.duplicates,
      reused: f?.reused,
      tokens: f?.tokens,
      requests: f?.requests,
      seconds: f?.seconds,
      cost: f?.cost,
      price_per_million_tokens: 0.25,
    });
    expect(usage.estimate?.cost).toBeCloseTo(((f?.tokens ?? 0) * 0.25) / 1e6, 6);
    // The commit removed the plan; the next run (nothing planned) carries no estimate.
    expect(await readdir(path.join(out, 'products.jsonl'))).not.toContain('_scratch');
    expect((await run([file])).status).toBe(0);
    expect((await usageOf(file)).estimate).toBeUndefined();
  });

  it('does not carry a plan made for another version of the file or other settings', async () => {
    // Prepare
    const file = path.join(root, 'stale.jsonl');
    await writeFile(file, exportLines(30).join('\n'));
    expect((await plan([file])).status).toBe(0);
    await writeFile(file, exportLines(31).join('\n'));

    // Act
    const changedFile = await run([file]);
    await writeFile(file, exportLines(30).join('\n'));
    expect((await plan([file])).status).toBe(0);
    const otherBatch = await run([file], ['--batch-size', '4']);

    // Assess
    for (const result of [changedFile, otherBatch]) {
      expect(result.status, result.stderr.join('\n')).toBe(0);
      expect(result.stderr.join('\n')).toContain('the stored plan was made for another version');
    }
    expect((await usageOf(file)).estimate).toBeUndefined();
  });

  it('prints a --json report of every file and the total, and a table otherwise', async () => {
    // Prepare
    const a = path.join(root, 'a.jsonl');
    const b = path.join(root, 'b.jsonl');
    await writeFile(a, exportLines(40).join('\n'));
    await writeFile(b, exportLines(25).join('\n'));

    // Act
    const json = await plan([a, b], ['--rps', '2', '--tpm', '1000000', '--no-save']);
    const table = await runCli(['plan', a, b, ...jobFlags(['--rps', '2'])]);

    // Assess
    expect(json.status).toBe(0);
    const { files, total } = json.json;
    expect(json.json).toMatchObject({
      model: OFFLINE_MODEL,
      endpoint: server.url,
      packing: 'across-files',
      settings: { batch_size: 8, concurrency: 8, rps: 2, tpm: 1000000, latency_ms: 1000 },
      price: null,
    });
    expect(files.map((f) => path.basename(f.source))).toEqual(['a.jsonl', 'b.jsonl']);
    for (const key of ['rows', 'rejected', 'duplicates', 'reused', 'to_embed', 'tokens'] as const) {
      expect(total[key]).toBe(files.reduce((sum, f) => sum + f[key], 0));
    }
    // Requests span files: the total packs every text once; a shared request counts in each file.
    expect(total.requests).toBe(Math.ceil(total.to_embed / 8));
    expect(total.requests).toBeLessThan(files.reduce((sum, f) => sum + f.requests, 0));
    expect(total.files).toBe(2);
    expect(files.every((f) => f.bound === 'requests/s' && f.saved === null && f.cost === null)).toBe(true);
    // One stream of requests: the command takes about what its requests take at the rate, not the files' sum.
    expect(total.seconds).toBeGreaterThan((total.requests - 2) / 1.94);
    expect(total.seconds).toBeLessThan(files.reduce((sum, f) => sum + (f.seconds ?? 0), 0));
    // At 2 requests/s (paced at 97 %), n requests take about (n - 2) / 1.94 s after the first.
    const f = files[0];
    expect(f?.seconds).toBeGreaterThan(((f?.requests ?? 0) - 2) / 1.94);
    expect(table.status).toBe(0);
    expect(table.stdout[0]).toMatch(
      /^file\s+rows\s+rejected\s+duplicates\s+reused\s+to embed\s+tokens\s+requests\s+time\s+cost$/,
    );
    expect(table.stdout.some((line) => line.startsWith('total (2 files)'))).toBe(true);
    expect(table.stdout.join('\n')).toMatch(/Time: about .*, bound by requests\/s/);
    expect(table.stdout.join('\n')).toContain('give --price-per-million-tokens');
  });

  it('names the bound that dominates: tokens per minute when that budget is the tighter one', async () => {
    // Prepare
    const file = path.join(root, 'tokens.jsonl');
    await writeFile(file, exportLines(80).join('\n'));

    // Act
    const result = await plan([file], ['--tpm', '2000', '--rps', '100']);

    // Assess
    const f = result.json.files[0];
    expect(f?.bound).toBe('tokens/min');
    expect(f?.seconds).toBeGreaterThan((((f?.tokens ?? 0) - 2000) * 60) / 2000);
  });

  it('exits 1 for a file the run would fail, and the run does', async () => {
    // Prepare
    const good = path.join(root, 'good.jsonl');
    const bad = path.join(root, 'bad.csv');
    await writeFile(good, exportLines(20).join('\n'));
    await writeFile(bad, 'id,body\n1,hello\n');

    // Act
    const planned = await plan([good, bad]);
    const result = await run([good, bad]);

    // Assess
    expect(planned.status).toBe(1);
    expect(planned.json.files.map((f) => f.error === null)).toEqual([true, false]);
    expect(planned.json.files[1]?.error).toContain('text');
    expect(planned.stderr.join('\n')).toContain('the run would fail');
    expect(result.status).toBe(1);
  });
});
