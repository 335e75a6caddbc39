import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { maxInWindow } from '../../lambda/serve/RequestLog.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { RequestLogEntry } from '../../lambda/serve/types.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { cleanEnv, spawnCli } from '../helpers/cli.ts';
import { type LocalDynamo, startLocalDynamo } from '../helpers/dynamoServer.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';
import { expectOutputRows } from '../helpers/expectOutput.ts';

const RPS = 20;
const TABLE = 'embed-batch-budget';

let dynamo: LocalDynamo;
let server: LocalServer;
let tmp: string;
useTempDir((made) => {
  tmp = made;
}, 'embed-batch-budget-');
const dir = (): string => tmp;

beforeEach(async () => {
  dynamo = await startLocalDynamo();
  // The server allows exactly the budget (and a burst of it, so a 429 means a whole second over).
  server = await startLocalServer({ rps: RPS, quiet: true });
});

afterEach(async () => {
  await server.close();
  await dynamo.stop();
});

/** A JSONL file of `rows` rows named after `name`. */
async function input(
  name: string,
  rows: number,
): Promise<{ file: string; expected: { id: string; text: string }[] }> {
  const expected = Array.from({ length: rows }, (_, i) => ({
    id: `${name}-${i + 1}`,
    text: `${name} row ${i + 1}`,
  }));
  const file = path.join(dir(), `${name}.jsonl`);
  await writeFile(file, expected.map((row) => JSON.stringify(row)).join('\n'));
  return { file, expected };
}

/**
 * One worker process: `embed-batch run` in a child process joined to the
 * budget. Its batch size tells its requests apart in the server's log.
 */
function worker(file: string, batchSize: number): ReturnType<typeof spawnCli> {
  return spawnCli(
    [
      'run',
      file,
      '--out',
      path.join(dir(), 'out'),
      '--base-url',
      server.url,
      '--model',
      OFFLINE_MODEL,
      '--batch-size',
      String(batchSize),
      '--rps',
      String(RPS),
      '--rate-table',
      TABLE,
    ],
    cleanEnv(dynamo.env),
  );
}

/** Requests per second between the first and the last arrival of `entries`. */
function rateOf(entries: readonly RequestLogEntry[]): number {
  const first = entries[0]?.receivedAt ?? 0;
  const last = entries.at(-1)?.receivedAt ?? 0;
  return ((entries.length - 1) * 1000) / (last - first);
}

/** The output folder a run printed (`<input> -> <folder> (...)`). */
function outputOf(result: { stdout: string[] }): string {
  const folder = / -> (.+?) \(\d+ rows embedded/.exec(result.stdout.join('\n'))?.[1];
  if (folder === undefined) throw new Error(`no output folder in ${result.stdout.join('\n')}`);
  return folder;
}

async function usageOf(folder: string): Promise<UsageReport> {
  return JSON.parse(await readFile(path.join(folder, 'usage.json'), 'utf8')) as UsageReport;
}

// Assertions read serve-local's own log of arrivals, never the clients' clocks.
describe('Command: embed-batch run --rate-table (one budget for many processes)', () => {
  it('gives a lone worker at least 90 % of the budget, and three workers together never more than it, in fair shares', async () => {
    // Prepare: the lone worker's rows, and three workers with 60 requests each (batch sizes 1, 2, 3).
    const lone = await input('lone', 40);
    const shared = await Promise.all([1, 2, 3].map((size) => input(`shared${size}`, 60 * size)));

    // Act: the lone worker first (it creates the table), then the three at once.
    const loneResult = await worker(lone.file, 1);
    const loneLog = server.log.slice();
    const results = await Promise.all(shared.map(({ file }, i) => worker(file, i + 1)));

    // Assess: every row of every worker is in its output.
    expect(loneResult.status, loneResult.stderr.join('\n')).toBe(0);
    await expectOutputRows(outputOf(loneResult), lone.expected);
    for (const [i, result] of results.entries()) {
      expect(result.status, result.stderr.join('\n')).toBe(0);
      await expectOutputRows(outputOf(result), shared[i]?.expected ?? []);
      expect((await usageOf(outputOf(result))).requests.failed).toBe(0);
    }
    const log = server.log.slice(loneLog.length);
    expect([...loneLog, ...log].filter((entry) => entry.status !== 200)).toEqual([]);

    // The lone worker had the whole budget to itself.
    expect(loneLog).toHaveLength(40);
    expect(rateOf(loneLog)).toBeGreaterThanOrEqual(0.9 * RPS);
    expect(rateOf(loneLog)).toBeLessThanOrEqual(RPS);

    // Together the three never went over it: a token bucket of RPS/s and burst 1 lets at most
    // RPS + 1 requests into any one second (paced at 97 %, it is 20 at most, bar arrival jitter).
    expect(log).toHaveLength(180);
    const arrivals = log.map((entry) => entry.receivedAt);
    expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(RPS + 1);
    expect(rateOf(log)).toBeLessThanOrEqual(RPS);
    expect(rateOf(log)).toBeGreaterThanOrEqual(0.9 * RPS);

    // While all three ran, each got its third, within 20 %.
    const byWorker = [1, 2, 3].map((size) => log.filter((entry) => entry.inputs === size));
    const from = Math.max(...byWorker.map((entries) => entries[0]?.receivedAt ?? 0));
    const to = Math.min(...byWorker.map((entries) => entries.at(-1)?.receivedAt ?? 0));
    expect(to - from).toBeGreaterThan(4000);
    const shares = byWorker.map(
      (entries) => entries.filter((entry) => entry.receivedAt >= from && entry.receivedAt <= to).length,
    );
    expect(
      Math.min(...shares) / Math.max(...shares),
      `requests while all three ran: ${shares}`,
    ).toBeGreaterThanOrEqual(0.8);
  }, 120_000);

  it('fails at once with one line naming the table when DynamoDB cannot be reached, having sent nothing', async () => {
    // Prepare: DynamoDB gone.
    const { file } = await input('unreachable', 5);
    await dynamo.stop();

    // Act
    const result = await worker(file, 1);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr.filter((line) => line.startsWith('embed-batch: error:'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `: rate budget table ${TABLE} could not be created \\(.*ECONNREFUSED.*\\); no request was sent without a permit$`,
        ),
      ),
    ]);
    expect(server.stats.requests).toBe(0);
    dynamo = await startLocalDynamo();
  }, 60_000);
});
