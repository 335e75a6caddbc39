import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main } from '../../lambda/commands/main.ts';

/** What one command line printed and returned. */
export interface CliResult {
  readonly status: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** Environment with no endpoint settings, so a test says exactly what it uses. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['EMBEDDINGS_BASE_URL', 'EMBEDDINGS_API_KEY', 'IONOS_API_TOKEN', 'EMBEDDINGS_MODEL'])
    delete env[name];
  return { ...env, ...extra };
}

/** Runs `embed-batch <args>` in this process through the same `main` the binary calls. */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  cwd = process.cwd(),
): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const status = await main(args, { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l), env, cwd });
  return { status, stdout, stderr };
}

const BIN = fileURLToPath(new URL('../../bin/embed-batch.js', import.meta.url));

/** Runs the real `embed-batch` binary in a child process. */
export function spawnCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  cwd = process.cwd(),
): Promise<CliResult & { raw: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = (s: string) => s.split('\n').filter((l) => l !== '');
      resolve({ status: code ?? 1, stdout: lines(out), stderr: lines(err), raw: out + err });
    });
  });
}

/** A running `embed-batch` child, to signal or kill, and how it ended. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts the real `embed-batch` binary and returns at once, so a test can signal it mid-run. */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  cwd = process.cwd(),
): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}
