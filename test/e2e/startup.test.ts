import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv } from '../helpers/cli.ts';

const CLI = fileURLToPath(new URL('../../lambda/cli.ts', import.meta.url));
const RECORDER = fileURLToPath(new URL('../helpers/recordImports.mjs', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Packages that cost tens of milliseconds each to load (BENCHMARKS.md, section 10). */
const HEAVY = ['apache-arrow', 'parquet-wasm', '@aws-sdk/', 'csv-parse'];

let work: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'embed-batch-startup-'));
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Runs the CLI from source with the import recorder; the exit status and every module URL it resolved. */
async function loadedBy(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number; modules: string[] }> {
  const file = path.join(work, `imports-${args.length}-${Math.random().toString(16).slice(2)}.txt`);
  const child = spawn(process.execPath, ['--import', TSX, '--import', RECORDER, CLI, ...args], {
    cwd: work,
    env: cleanEnv({ ...env, RECORD_IMPORTS_FILE: file }),
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const status = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const modules = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  return { status, modules };
}

const heavyIn = (modules: readonly string[]) =>
  modules.filter((url) => HEAVY.some((name) => url.includes(`/node_modules/${name}`)));
const commandModulesIn = (modules: readonly string[]) =>
  modules.filter((url) => /\/lambda\/(commands\/\w+Command|serve\/serveLocalCommand)\.ts$/.test(url));

describe('Start-up: embed-batch loads only what a command needs', () => {
  it('loads no command module and no heavy dependency for --help, --version or a mistyped command', async () => {
    // Act
    const results = await Promise.all([loadedBy(['--help']), loadedBy(['--version']), loadedBy(['rnu'])]);

    // Assess
    expect(results.map((r) => r.status)).toEqual([0, 0, 1]);
    for (const { modules } of results) {
      expect(modules.some((url) => url.endsWith('/lambda/commands/main.ts'))).toBe(true);
      expect(commandModulesIn(modules)).toEqual([]);
      expect(heavyIn(modules)).toEqual([]);
    }
  });

  it('loads a command and its dependencies when it runs, and S3 only for an s3:// URI', async () => {
    // Act: search --help loads the search command; a local search of a missing folder fails after
    // reaching the store, which must not have loaded the AWS SDK for a local path.
    const help = await loadedBy(['search', '--help']);
    const local = await loadedBy(['search', 'missing-folder', 'query']);
    // An S3 endpoint on a closed loopback port, with stand-in credentials: the SDK loads, then fails.
    const s3 = await loadedBy(['search', 's3://bucket/out/products.csv/', 'query'], {
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_MAX_ATTEMPTS: '1',
      S3_FORCE_PATH_STYLE: 'true',
    });

    // Assess
    expect(help.status).toBe(0);
    expect(commandModulesIn(help.modules).map((url) => path.basename(url))).toEqual(['searchCommand.ts']);
    // The search command brings its scan, and not the Arrow and Parquet libraries its fallbacks load on demand.
    expect(help.modules.some((url) => url.endsWith('/lambda/search/searchVectors.ts'))).toBe(true);
    expect(
      heavyIn(help.modules).filter((url) => url.includes('/apache-arrow/') || url.includes('/parquet-wasm/')),
    ).toEqual([]);
    expect(local.status).toBe(1);
    expect(local.modules.some((url) => url.endsWith('/lambda/store/LocalStore.ts'))).toBe(true);
    expect(local.modules.filter((url) => url.includes('/node_modules/@aws-sdk/'))).toEqual([]);
    expect(local.modules.some((url) => url.endsWith('/lambda/store/S3Store.ts'))).toBe(false);
    expect(s3.status).toBe(1);
    expect(s3.modules.some((url) => url.endsWith('/lambda/store/S3Store.ts'))).toBe(true);
    expect(s3.modules.some((url) => url.includes('/node_modules/@aws-sdk/client-s3/'))).toBe(true);
  });
});
