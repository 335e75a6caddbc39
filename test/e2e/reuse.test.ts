import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { runCli } from '../helpers/cli.ts';
import { type ExpectedRow, expectOutputRows } from '../helpers/expectOutput.ts';
import { readOutputFolder } from '../helpers/readOutput.ts';

let work: string;
let server: LocalServer;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'embed-batch-reuse-'));
  server = await startLocalServer({ models: [OFFLINE_MODEL, 'other/model'] });
});

afterEach(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const file = () => path.join(work, 'export.jsonl');
const outDir = () => path.join(work, 'out', 'export.jsonl');

async function writeExport(rows: readonly ExpectedRow[]): Promise<void> {
  await writeFile(file(), rows.map((r) => JSON.stringify(r)).join('\n'));
}

function run(extra: string[] = []) {
  return runCli([
    'run',
    file(),
    '--out',
    path.join(work, 'out'),
    '--base-url',
    server.url,
    '--model',
    OFFLINE_MODEL,
    '--batch-size',
    '8',
    '--part-rows',
    '25',
    ...extra,
  ]);
}

async function usage(): Promise<UsageReport> {
  return JSON.parse(await readFile(path.join(outDir(), 'usage.json'), 'utf8')) as UsageReport;
}

const rows: ExpectedRow[] = Array.from({ length: 60 }, (_, i) => ({
  id: `r${i + 1}`,
  text: `row ${i + 1} says hello ${i * 7}`,
}));

describe('Command: embed-batch run (incremental reuse)', () => {
  it('sends zero requests on a second run over an unchanged file, with the same output', async () => {
    // Prepare
    await writeExport(rows);
    expect((await run()).status).toBe(0);
    const first = await readOutputFolder(outDir());
    const requestsBefore = server.stats.requests;

    // Act
    const result = await run();

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    expect(server.stats.requests).toBe(requestsBefore);
    const second = await expectOutputRows(outDir(), rows);
    expect(second.rows).toEqual(first.rows);
    const u = await usage();
    expect(u.rows).toMatchObject({ read: 60, embedded: 60, reused: 60 });
    expect(u.tokens.total).toBe(0);
    expect(u.requests.sent).toBe(0);
    // The staged copies of the earlier parts are gone again.
    expect((await readdir(outDir())).filter((n) => n.startsWith('_'))).toEqual([]);
  });

  it('sends exactly the new and changed texts when rows were edited, deleted and added', async () => {
    // Prepare
    await writeExport(rows);
    expect((await run()).status).toBe(0);
    const edited = rows
      .filter((_, i) => i % 10 !== 3) // 6 deleted
      .map((r, i) => (i % 9 === 0 ? { ...r, text: `${r.text} (edited)` } : r)); // 6 edited
    const added = Array.from({ length: 5 }, (_, i) => ({
      id: `new${i + 1}`,
      text: `a brand new row ${i + 1}`,
    }));
    const next = [...edited.slice(0, 20), ...added, ...edited.slice(20)];
    await writeExport(next);
    const inputsBefore = server.stats.inputs;

    // Act
    const result = await run();

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    await expectOutputRows(outDir(), next);
    const changed = edited.filter((_, i) => i % 9 === 0).length + added.length;
    expect(server.stats.inputs - inputsBefore).toBe(changed);
    const u = await usage();
    expect(u.rows).toMatchObject({ read: next.length, embedded: next.length, reused: next.length - changed });
  });

  it('reuses nothing for another model, nor with --full', async () => {
    // Prepare
    await writeExport(rows);
    expect((await run()).status).toBe(0);

    // Act
    const full = await run(['--full']);
    const fullUsage = await usage();
    const other = await run(['--model', 'other/model']);
    const otherUsage = await usage();

    // Assess
    expect(full.status).toBe(0);
    expect(fullUsage.rows.reused).toBe(0);
    expect(fullUsage.requests.sent).toBeGreaterThan(0);
    expect(other.status).toBe(0);
    expect(otherUsage.rows.reused).toBe(0);
    expect(otherUsage.model).toBe('other/model');
  });
});
