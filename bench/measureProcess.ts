/**
 * Runs a Node script in a child process and reports what it cost: wall time,
 * CPU seconds and peak RSS (from the child itself, see probe/reportUsage.ts),
 * and what it printed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessUsage } from './probe/types.ts';

/** tsx as a URL, so children find it whatever their working folder. */
const TSX = import.meta.resolve('tsx');
const PROBE = fileURLToPath(new URL('./probe/reportUsage.ts', import.meta.url));

/** What one measured run cost and printed. */
export interface MeasuredRun {
  readonly exitCode: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly maxRssBytes: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link measureProcess}. */
export interface MeasureOptions {
  /** Extra environment on top of the bench's own. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Extra Node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
}

/**
 * Runs `node --import tsx <script> ...args` with the usage probe preloaded.
 * Rejects when the child cannot report its usage (it crashed before exit).
 */
export async function measureProcess(
  script: string,
  args: readonly string[],
  options: MeasureOptions = {},
): Promise<MeasuredRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'embed-bench-usage-'));
  const usageFile = path.join(dir, 'usage.json');
  try {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', TSX, '--import', PROBE, ...(options.nodeArgs ?? []), script, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, ...options.env, BENCH_USAGE_FILE: usageFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
    const wallSeconds = (performance.now() - started) / 1000;
    let usage: ProcessUsage;
    try {
      usage = JSON.parse(await readFile(usageFile, 'utf8')) as ProcessUsage;
    } catch (error) {
      throw new Error(
        `${path.basename(script)} ${args.join(' ')} exited ${exitCode} without a usage report:\n${stderr}`,
        {
          cause: error,
        },
      );
    }
    return {
      exitCode,
      wallSeconds,
      cpuSeconds: usage.userSeconds + usage.systemSeconds,
      maxRssBytes: usage.maxRssBytes,
      stdout,
      stderr,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
