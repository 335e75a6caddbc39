import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { runCli } from '../helpers/cli.ts';
import { expectOutputRows } from '../helpers/expectOutput.ts';

let out: string;
let server: LocalServer | undefined;

beforeEach(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'embed-batch-rate-'));
});

afterEach(async () => {
  await server?.close();
  await rm(out, { recursive: true, force: true });
});

async function job(rows: number): Promise<{ file: string; expected: { id: string; text: string }[] }> {
  const expected = Array.from({ length: rows }, (_, i) => ({
    id: String(i + 1),
    text: `request number ${i + 1}`,
  }));
  const file = path.join(out, 'in', 'paced.jsonl');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, expected.map((r) => JSON.stringify(r)).join('\n'));
  return { file, expected };
}

// These jobs are slow on purpose (the server allows 5 requests/s); assertions read
// the server's own log and counters, never the wall clock.
describe('Command: embed-batch run (rate limits)', () => {
  it('paces 250 requests to --rps 5 against a 5 req/s server with no failed rows and next to no 429s', async () => {
    // Prepare
    server = await startLocalServer({ rps: 5, burst: 5 });
    const { file, expected } = await job(250);

    // Act
    const result = await runCli([
      'run',
      file,
      '--out',
      out,
      '--base-url',
      server.url,
      '--model',
      OFFLINE_MODEL,
      '--batch-size',
      '1',
      '--rps',
      '5',
    ]);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    await expectOutputRows(path.join(out, 'paced.jsonl'), expected);
    const usage = JSON.parse(
      await readFile(path.join(out, 'paced.jsonl', 'usage.json'), 'utf8'),
    ) as UsageReport;
    expect(usage.requests.failed).toBe(0);
    expect(server.stats.byStatus['200']).toBe(250);
    // The client's own pacing kept it under the limit: 429s are rare timer jitter, not the mechanism.
    expect(server.stats.byStatus['429'] ?? 0).toBeLessThanOrEqual(5);
    expect(usage.requests.throttled).toBe(server.stats.byStatus['429'] ?? 0);
  }, 120_000);

  it('adapts to a 5 req/s server with no --rps: every row embedded, 429s waited out together, not hammered', async () => {
    // Prepare
    server = await startLocalServer({ rps: 5, burst: 5, retryAfter: 'seconds' });
    const { file, expected } = await job(100);

    // Act
    const result = await runCli([
      'run',
      file,
      '--out',
      out,
      '--base-url',
      server.url,
      '--model',
      OFFLINE_MODEL,
      '--batch-size',
      '1',
      '--concurrency',
      '8',
    ]);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    await expectOutputRows(path.join(out, 'paced.jsonl'), expected);
    const throttled = server.stats.byStatus['429'] ?? 0;
    expect(throttled).toBeGreaterThan(0);
    // Eight workers each retrying their own 429s every second would collect over 150 here.
    expect(throttled).toBeLessThan(60);
  }, 120_000);
});
