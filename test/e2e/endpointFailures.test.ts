import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { cleanEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { expectedCsvRows, expectOutputRows } from '../helpers/expectOutput.ts';

const FIXTURES = path.resolve('fixtures');
const PRODUCTS = path.join(FIXTURES, 'products.csv');
const BIN = fileURLToPath(new URL('../../bin/embed-batch.js', import.meta.url));

let out: string;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'embed-batch-failures-'));
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await rm(out, { recursive: true, force: true });
});

async function serveLocal(options: Parameters<typeof startLocalServer>[0]): Promise<LocalServer> {
  const server = await startLocalServer(options);
  closers.push(() => server.close());
  return server;
}

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

/** A port nobody listens on: one the OS gave out and took back. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** The one folder below `out` with a manifest (its name is the output layout's business, not this test's). */
async function outputDir(): Promise<string> {
  const entries = await readdir(out, { recursive: true });
  const manifest = entries.find((entry) => path.basename(entry) === 'manifest.json');
  if (manifest === undefined) throw new Error(`no manifest.json below ${out}`);
  return path.join(out, path.dirname(manifest));
}

function runArgs(baseUrl: string, extra: string[] = []): string[] {
  return ['run', PRODUCTS, '--out', out, '--base-url', baseUrl, '--model', OFFLINE_MODEL, ...extra];
}

describe('Command: embed-batch run against a failing endpoint', () => {
  it.each(['htp://alice:PaSsWoRd42@host/v1', 'https://alice:PaSsWoRd42@127.0.0.1:9/v1'])(
    'never echoes the password of the base URL %s',
    async (baseUrl) => {
      // Act
      const result = await runCli(runArgs(baseUrl), cleanEnv());

      // Assess
      expect(result.status).toBe(1);
      expect(result.stderr.join('\n')).toMatch(/^embed-batch: error: Expected `--base-url`/);
      expect([...result.stdout, ...result.stderr].join('\n')).not.toContain('PaSsWoRd42');
    },
  );

  it('fails within seconds, naming the host, when nobody listens on the port', async () => {
    // Prepare
    const port = await closedPort();
    const started = performance.now();

    // Act
    const result = await spawnCli(runArgs(`http://127.0.0.1:${port}/v1`));

    // Assess
    const seconds = (performance.now() - started) / 1000;
    expect(result.status).toBe(1);
    expect(seconds).toBeLessThan(10);
    const errors = result.stderr.filter((line) => line.startsWith('embed-batch: error:'));
    expect(errors).toEqual([
      `embed-batch: error: ${PRODUCTS}: gave up after 3 attempts: could not reach the endpoint at 127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    ]);
    // The last retry was announced on the pipe.
    expect(result.stderr).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^embed-batch: retrying in \\d+(\\.\\d)? s \\(attempt 3/3\\): could not reach the endpoint at 127\\.0\\.0\\.1:${port}`,
        ),
      ),
    );
  });

  it('fails within seconds, naming the host, when the host is not found', async () => {
    // Prepare: `.invalid` never resolves (RFC 6761), so no network is needed to be sure.
    const started = performance.now();

    // Act
    const result = await runCli(runArgs('http://embeddings.invalid/v1'), cleanEnv());

    // Assess
    expect(result.status).toBe(1);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.stderr.filter((line) => line.startsWith('embed-batch: error:'))).toEqual([
      `embed-batch: error: ${PRODUCTS}: gave up after 3 attempts: could not reach the endpoint at embeddings.invalid: host not found (ENOTFOUND)`,
    ]);
  });

  it('fails at once, with its reason, on a Retry-After longer than --max-retry-wait', async () => {
    // Prepare
    let requests = 0;
    const url = await serve((request, response) => {
      request.resume();
      requests++;
      response
        .writeHead(429, { 'Retry-After': '999999', 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'quota exhausted for today' } }));
    });
    const started = performance.now();

    // Act
    const result = await runCli(runArgs(url), cleanEnv());

    // Assess
    expect(result.status).toBe(1);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(requests).toBe(1);
    expect(result.stderr).toContain(
      `embed-batch: error: ${PRODUCTS}: the endpoint asked to wait 999999 s before trying again, longer than the 300 s allowed (--max-retry-wait): the endpoint is rate limiting requests (HTTP 429): quota exhausted for today`,
    );
  });

  it('announces retries on a pipe, about one line per 5 s, and completes', async () => {
    // Prepare: the first batch goes alone, and fails 3 times before it passes.
    const server = await serveLocal({ faults: '503x3' });

    // Act
    const result = await spawnCli(runArgs(server.url));

    // Assess
    expect(result.status, result.raw).toBe(0);
    const notices = result.stderr.filter((line) => line.startsWith('embed-batch: retrying in'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      /^embed-batch: retrying in \d+(\.\d)? s \(attempt 3\/9\): the endpoint failed \(HTTP 503\): serve-local injected fault/,
    );
    await expectOutputRows(await outputDir(), await expectedCsvRows(PRODUCTS));
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'announces retries on a terminal too, clearing the progress line first',
    async () => {
      // Prepare
      const server = await serveLocal({ faults: '503x3' });
      const command = [process.execPath, BIN, ...runArgs(server.url)].map((arg) => `'${arg}'`).join(' ');

      // Act: `script` gives the command a pseudo-terminal and copies what it wrote.
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: cleanEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let terminal = '';
      child.stdout.on('data', (chunk: Buffer) => {
        terminal += chunk.toString();
      });
      const [code] = (await once(child, 'close')) as [number];

      // Assess
      expect(code, terminal).toBe(0);
      const notice =
        /embed-batch: retrying in \d+(\.\d)? s \(attempt 3\/9\): the endpoint failed \(HTTP 503\)/;
      const at = terminal.search(notice);
      expect(at, terminal).toBeGreaterThan(0);
      // Starts at column 0 of a cleared line, not after a half-drawn progress line.
      expect(terminal.slice(at - 5, at)).toBe('\r\u001b[2K');
    },
  );

  it('asks for floats after a 400 refusing base64, and writes every row right', async () => {
    // Prepare
    const server = await serveLocal({ refuseBase64: true });

    // Act
    const result = await runCli(runArgs(server.url, ['--batch-size', '7']), cleanEnv());

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const dir = await outputDir();
    await expectOutputRows(dir, await expectedCsvRows(PRODUCTS));
    expect(server.log.map((entry) => `${entry.encoding} ${entry.status}`)).toEqual([
      'base64 400',
      ...Array.from({ length: Math.ceil(40 / 7) }, () => 'float 200'),
    ]);
    const usage = JSON.parse(await readFile(path.join(dir, 'usage.json'), 'utf8')) as UsageReport;
    expect(usage.requests).toMatchObject({ retried: 1, failed: 0, by_status: { '400': 1, '200': 6 } });
  });
});
