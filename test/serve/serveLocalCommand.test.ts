import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { ConfigError } from '../../lambda/errors.ts';
import {
  SERVE_LOCAL_USAGE,
  type ServeLocalIo,
  serveLocalCommand,
} from '../../lambda/serve/serveLocalCommand.ts';
import { postEmbeddings, ServerPool } from './serveTestHelpers.ts';

const pool = new ServerPool();

afterEach(async () => {
  await pool.closeAll();
});

/** Io that records what the command writes, with signals the test emits by hand. */
function fakeIo(): ServeLocalIo & { out: string[]; err: string[]; signals: EventEmitter } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    signals: new EventEmitter(),
  };
}

async function run(argv: string[], io: ServeLocalIo) {
  const server = await serveLocalCommand(argv, io);
  if (server === undefined) throw new Error('expected a running server');
  return pool.add(server);
}

describe('Function: serveLocalCommand', () => {
  it('starts on --port 0 and prints one listening line', async () => {
    // Prepare
    const io = fakeIo();

    // Act
    const server = await run(['--port', '0', '--quiet'], io);

    // Assess
    expect(io.err).toEqual([
      `serve-local listening on http://127.0.0.1:${server.port}/v1 (model ${OFFLINE_MODEL}, 384 dims; lexical, not semantic)\n`,
    ]);
    expect((await fetch(`${server.url}/models`)).status).toBe(200);
  });

  it('logs a compact line per request unless --quiet', async () => {
    // Prepare
    const io = fakeIo();
    const server = await run(['--port', '0'], io);

    // Act
    await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a', 'b'] });

    // Assess
    expect(io.err).toHaveLength(2);
    expect(io.err[1]).toMatch(/^serve-local #1 POST \/v1\/embeddings 200 2 inputs \d+\.\dms\n$/);
  });

  it('passes its flags to the server', async () => {
    // Prepare
    const io = fakeIo();
    const argv = [
      '--port=0',
      '--quiet',
      '--dimensions=16',
      '--model=BAAI/bge-m3',
      '--model',
      'other/model',
      '--api-key=k',
      '--max-inputs=1',
      '--faults=503',
      '--fault-every=2:wrong-count',
      '--rps=1000',
      '--rate-limit-headers',
      '--retry-after=ms',
    ];

    // Act
    const server = await run(argv, io);
    const headers = { authorization: 'Bearer k' };
    const models = (await (await fetch(`${server.url}/models`, { headers })).json()) as {
      data: { id: string }[];
    };
    const statuses = [
      (await postEmbeddings(server, { model: 'BAAI/bge-m3', input: ['a'] }, { headers })).status,
      (await postEmbeddings(server, { model: 'BAAI/bge-m3', input: ['a', 'b'] }, { headers })).status,
      (await postEmbeddings(server, { model: 'BAAI/bge-m3', input: ['a'] }, { headers })).status,
    ];

    // Assess
    expect(models.data.map((model) => model.id)).toEqual([OFFLINE_MODEL, 'BAAI/bge-m3', 'other/model']);
    expect(statuses).toEqual([503, 413, 200]);
    expect(io.err[0]).toContain('models local/feature-hash, BAAI/bge-m3, other/model, 16 dims');
  });

  it('closes on SIGTERM and stops listening for signals', async () => {
    // Prepare
    const io = fakeIo();
    const server = await run(['--port', '0', '--quiet'], io);

    // Act
    io.signals.emit('SIGTERM', 'SIGTERM');
    await server.close();

    // Assess
    await expect(fetch(`${server.url}/models`)).rejects.toThrow();
    expect(io.err.at(-1)).toBe('serve-local stopping (SIGTERM)\n');
    expect(io.signals.listenerCount('SIGINT') + io.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('removes its signal handlers when the returned server is closed', async () => {
    // Prepare
    const io = fakeIo();
    const server = await run(['--port', '0', '--quiet'], io);

    // Act
    await server.close();

    // Assess
    expect(io.signals.listenerCount('SIGINT')).toBe(0);
    expect(io.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('prints usage on --help and starts nothing', async () => {
    // Prepare
    const io = fakeIo();

    // Act
    const server = await serveLocalCommand(['--help'], io);

    // Assess
    expect(server).toBeUndefined();
    expect(io.out).toEqual([SERVE_LOCAL_USAGE]);
    expect(io.err).toEqual([]);
  });

  it.each([
    [['--rps', 'fast'], 'Expected `--rps` to be a number, got "fast"'],
    [['--rps=-1'], 'Expected `--rps` to be a positive number, got -1'],
    [['--port', '99999'], 'Expected `--port` to be an integer from 0 to 65535, got 99999'],
    [['--retry-after', 'weeks'], 'Expected `--retry-after` to be one of seconds, date, ms, got "weeks"'],
    [['--faults', '500,teapot'], 'item 2 of `--faults`'],
    [['--fault-every', '5'], 'Expected `--fault-every` to be N:KIND'],
    [
      ['--fault-every', '0:500'],
      'Expected `--fault-every` to be an object whose `every` is a positive integer',
    ],
    [['--fault-every', '3:teapot'], 'Expected `--fault-every` to name an HTTP status'],
    [['--burst', '3'], 'Expected `--burst` only together with `--rps`'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['extra'], 'extra'],
  ])('throws a ConfigError naming the flag for %j', async (argv, message) => {
    // Prepare
    const io = fakeIo();

    // Act
    const started = serveLocalCommand(argv, io);

    // Assess
    await expect(started).rejects.toThrow(ConfigError);
    await expect(serveLocalCommand(argv, io)).rejects.toThrow(message);
  });

  it('runs as its own process and exits 0 on SIGTERM', async () => {
    // Prepare
    const main = fileURLToPath(new URL('./fixtures/serveLocalMain.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--port', '0', '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        const match = /listening on (\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve-local exited early with ${code}: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    // Act
    let models: Response;
    let code: number | null;
    try {
      models = await fetch(`${url}/models`);
      child.kill('SIGTERM');
      code = await exited;
    } finally {
      // Never leave a server process behind when an assertion above throws.
      if (child.exitCode === null) child.kill('SIGKILL');
    }

    // Assess
    expect(models.status).toBe(200);
    expect(code).toBe(0);
    expect(stderr).toContain('serve-local stopping (SIGTERM)');
  });
});
