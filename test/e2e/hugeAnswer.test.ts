import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/cli.ts';
import { type HugeAnswerProgress, streamHugeAnswer } from '../helpers/hugeAnswer.ts';

const BIN = fileURLToPath(new URL('../../bin/embed-batch.js', import.meta.url));
const PRINT_MAX_RSS = fileURLToPath(new URL('../helpers/printMaxRss.mjs', import.meta.url));
/** Far below what buffering one of these answers takes (500 MB reached 1,664 MB), and the Lambda's 1,769 MB. */
const MAX_RSS_MB = 400;

/** Runs the real binary in a child (asynchronously: the endpoint runs in this process) and reads its peak RSS. */
function runChild(
  args: string[],
  cwd: string,
): Promise<{ status: number; stderr: string; maxRssMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRINT_MAX_RSS, BIN, ...args], {
      cwd,
      env: cleanEnv({ EMBEDDINGS_API_KEY: 'not-a-real-key-0123456789' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const kb = Number(/max-rss-kb=(\d+)/.exec(stderr)?.[1] ?? Number.NaN);
      resolve({ status: code ?? 1, stderr, maxRssMb: kb / 1024 });
    });
  });
}

describe('Huge 200 answers', () => {
  let cwd: string;
  let server: http.Server | undefined;
  const answers: HugeAnswerProgress[] = [];

  beforeEach(async () => {
    cwd = await mkdtemp(path.join(tmpdir(), 'embed-batch-huge-'));
    const rows = Array.from({ length: 128 }, (_, i) => `${i + 1},row number ${i + 1}`);
    await writeFile(path.join(cwd, 'rows.csv'), `id,text\n${rows.join('\n')}\n`);
  });

  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
    answers.splice(0);
    await rm(cwd, { recursive: true, force: true });
  });

  /** The first answer is sound (the job's first batch goes alone), at 4096 dimensions; every later one is huge. */
  async function serveHuge(bytes: number): Promise<string> {
    let requests = 0;
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        requests++;
        if (requests > 1) {
          answers.push(streamHugeAnswer(response, bytes));
          return;
        }
        const { input } = JSON.parse(Buffer.concat(chunks).toString()) as { input: string[] };
        const embedding = Array.from({ length: 4096 }, (_, i) => (i % 7) / 10);
        response.end(JSON.stringify({ data: input.map((_, index) => ({ index, embedding })) }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  it.each([
    ['500 MB', 500_000_000],
    ['3 GB', 3_000_000_000],
  ])('fails the job cleanly on %s answers, 8 at a time, with bounded memory', async (_name, bytes) => {
    // Prepare
    const url = await serveHuge(bytes);
    const args = ['run', 'rows.csv', '--out', 'out', '--base-url', url, '--model', 'some/model'];

    // Act
    const result = await runChild(
      [...args, '--batch-size', '16', '--concurrency', '8', '--max-retry-wait', '1'],
      cwd,
    );

    // Assess
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /embed-batch: error: \S*rows\.csv: gave up after \d+ attempts.*: the endpoint sent an answer larger than the \d+\.\d MiB this request can need \(HTTP 200\); not read further/,
    );
    expect(result.maxRssMb).toBeLessThan(MAX_RSS_MB);
    expect(answers.length).toBeGreaterThanOrEqual(8);
    expect(answers.every((answer) => !answer.finished)).toBe(true);
  });
});
