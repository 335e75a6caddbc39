/**
 * Runs `embed-batch run` as a measured child process against a base URL and
 * reads back the usage report it wrote.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { UsageReport } from '../lambda/write/UsageReport.ts';
import { type MeasuredRun, measureProcess } from './measureProcess.ts';

/** A measured `embed-batch run` and its usage.json. */
export interface EmbedBatchRun {
  readonly measured: MeasuredRun;
  readonly usage: UsageReport;
  readonly outputDir: string;
}

/** Options of {@link runEmbedBatch}. */
export interface EmbedBatchRunOptions {
  /** The CLI entry point (lambda/cli.ts of the measured tree). */
  readonly cli: string;
  readonly input: string;
  /** Output root; a fresh one per run, or the job reuses the earlier vectors. */
  readonly outRoot: string;
  readonly baseUrl: string;
  readonly model: string;
  /** Flags after the defaults, e.g. `['--batch-size', '64']`. */
  readonly flags?: readonly string[];
  /** Extra Node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Extra environment (e.g. the SDK's settings for a local DynamoDB). */
  readonly env?: NodeJS.ProcessEnv;
}

const ENDPOINT_VARIABLES = [
  'EMBEDDINGS_BASE_URL',
  'EMBEDDINGS_API_KEY',
  'IONOS_API_TOKEN',
  'EMBEDDINGS_MODEL',
];

/** Runs the job once; throws when it fails, with its stderr. */
export async function runEmbedBatch(options: EmbedBatchRunOptions): Promise<EmbedBatchRun> {
  const env: NodeJS.ProcessEnv = { ...options.env };
  // Only the flags say where the endpoint is.
  for (const name of ENDPOINT_VARIABLES) env[name] = '';
  const measured = await measureProcess(
    options.cli,
    [
      'run',
      options.input,
      '--out',
      options.outRoot,
      '--base-url',
      options.baseUrl,
      '--model',
      options.model,
      ...(options.flags ?? []),
    ],
    { env, cwd: path.dirname(options.input), nodeArgs: options.nodeArgs },
  );
  const outputDir = / -> (.+?) \(\d+ rows embedded/.exec(measured.stdout)?.[1];
  if (measured.exitCode !== 0 || outputDir === undefined) {
    throw new Error(`embed-batch run failed (exit ${measured.exitCode}):\n${measured.stderr.slice(-2000)}`);
  }
  const usage = JSON.parse(
    await readFile(path.resolve(path.dirname(options.input), outputDir, 'usage.json'), 'utf8'),
  ) as UsageReport;
  return { measured, usage, outputDir: path.resolve(path.dirname(options.input), outputDir) };
}
