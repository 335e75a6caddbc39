import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { rateBudgetOn } from '../budget/DynamoRateBudget.ts';
import { createEmbedder } from '../embed/createEmbedder.ts';
import type { BatchEmbedder } from '../embed/types.ts';
import { ConfigError, isFatalForJob } from '../errors.ts';
import { runJob } from '../pipeline.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import { resolveJobOptions } from '../resolveJobOptions.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { OutputFormat } from '../types.ts';
import { createStore } from './createStore.ts';
import { type EndpointConfig, endpointConfig } from './endpointConfig.ts';
import { expandInputs, type PlannedInput } from './expandInputs.ts';
import { errorLine, type Io, numberFlag } from './io.ts';
import { ProgressReporter } from './ProgressReporter.ts';

/** Options shared by `run` and `reindex`. */
export const JOB_FLAGS_USAGE = `Options (flags win over the environment):
  --out DIR               output root (run: default out)
  --model ID              EMBEDDINGS_MODEL, default BAAI/bge-m3 (local/feature-hash offline)
  --base-url URL          EMBEDDINGS_BASE_URL; with no key and no URL the offline embedder runs
  --text-column NAME      default text
  --id-column NAME        default id (the record number when absent)
  --keep-columns a,b      columns carried into the output
  --format parquet|arrow|both   default parquet
  --no-text               leave the text column out
  --batch-size N          max inputs per request
  --concurrency N         requests in flight (default 8, lowered on 429)
  --rps N                 requests per second (default 5 on IONOS, else none until 429)
  --burst N               requests that may go at once after an idle spell, with --rps (default 1: evenly paced)
  --tpm N                 tokens per minute budget
  --rate-table NAME       share one --rps/--burst/--tpm budget with every process naming this DynamoDB table (created when absent)
  --dimensions N          ask the model for N dimensions
  --part-rows N           rows per part file (default about 32 MiB of vectors)
  --timeout-ms N          per-request timeout (default 60000)
  --max-record-bytes N    records larger than this are rejected (default 1048576)
  --full                  re-embed everything, reusing nothing from an earlier output`;

export const RUN_USAGE = `Usage: embed-batch run <input...> [--out DIR|s3://bucket/prefix/] [options]

Inputs: local files or folders, s3://bucket/key, s3://bucket/prefix/ (.csv, .jsonl, .ndjson, and .gz of them)
${JOB_FLAGS_USAGE}`;

const JOB_FLAGS = {
  out: { type: 'string' },
  model: { type: 'string' },
  'base-url': { type: 'string' },
  'text-column': { type: 'string' },
  'id-column': { type: 'string' },
  'keep-columns': { type: 'string' },
  format: { type: 'string' },
  'no-text': { type: 'boolean' },
  'batch-size': { type: 'string' },
  concurrency: { type: 'string' },
  rps: { type: 'string' },
  burst: { type: 'string' },
  tpm: { type: 'string' },
  'rate-table': { type: 'string' },
  dimensions: { type: 'string' },
  'part-rows': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-record-bytes': { type: 'string' },
  full: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Everything a command that embeds files needs, resolved from its flags once. */
export interface JobSetup {
  readonly inputs: string[];
  readonly out: string | undefined;
  readonly help: boolean;
  readonly endpoint: EndpointConfig;
  readonly options: JobOptions;
  readonly embedder: BatchEmbedder;
  readonly store: ObjectStore;
  /** Flags a command added to the shared ones (e.g. `reindex --force`). */
  readonly extra: Readonly<Record<string, string | boolean | undefined>>;
}

/** Parses the shared job flags (plus `extraFlags`) and builds the embedder and store. */
export function setUpJob(
  argv: readonly string[],
  io: Io,
  extraFlags: Record<string, { type: 'boolean' | 'string' }> = {},
): JobSetup {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { ...JOB_FLAGS, ...extraFlags },
  });
  const v = values as Record<string, string | boolean | undefined>;
  const str = (name: keyof typeof JOB_FLAGS): string | undefined => v[name] as string | undefined;
  const num = (name: keyof typeof JOB_FLAGS): number | undefined => numberFlag(str(name), `--${name}`);

  const endpoint = endpointConfig({ baseUrl: str('base-url'), model: str('model') }, io.env);
  const options = resolveJobOptions({
    model: endpoint.model,
    baseUrl: endpoint.baseUrl,
    textColumn: str('text-column'),
    idColumn: str('id-column'),
    keepColumns: str('keep-columns')
      ?.split(',')
      .map((c) => c.trim())
      .filter((c) => c !== ''),
    format: str('format') as OutputFormat | undefined,
    includeText: v['no-text'] !== true,
    batchSize: num('batch-size'),
    concurrency: num('concurrency'),
    dimensions: num('dimensions'),
    rowsPerPart: num('part-rows'),
    maxRecordBytes: num('max-record-bytes'),
    full: v.full === true,
  });
  const { embedder } = createEmbedder({
    baseUrl: endpoint.baseUrl,
    apiKey: endpoint.apiKey,
    model: endpoint.model,
    dimensions: options.dimensions,
    rps: num('rps'),
    burst: num('burst'),
    tpm: num('tpm'),
    concurrency: options.concurrency,
    timeoutMs: num('timeout-ms'),
    // DynamoDB from the SDK's standard settings (AWS_ENDPOINT_URL_DYNAMODB, region, credentials).
    rateBudget: rateBudgetOn(str('rate-table'), () => new DynamoDBClient({}), { createTable: true }),
  });
  return {
    inputs: positionals,
    out: str('out'),
    help: v.help === true,
    endpoint,
    options,
    embedder,
    store: createStore(io.env),
    extra: Object.fromEntries(Object.keys(extraFlags).map((name) => [name, v[name]])),
  };
}

/** Says on stderr that the offline embedder is in use, as DESIGN.md asks. */
export function announceOffline(setup: JobSetup, io: Io): void {
  if (setup.endpoint.offline) {
    io.stderr(
      'embed-batch: no EMBEDDINGS_API_KEY and no --base-url: using the offline embedder local/feature-hash (lexical, not semantic)',
    );
  }
}

/**
 * Embeds each planned file in turn with one shared embedder (one rate limit
 * for the whole command), one summary line per file on stdout. Bad
 * credentials or an unknown model stop the rest, which would fail the same way.
 *
 * @returns How many files failed.
 */
export async function runPlanned(planned: readonly PlannedInput[], setup: JobSetup, io: Io): Promise<number> {
  let failed = 0;
  for (const [n, { sourceUri, outputDir }] of planned.entries()) {
    const progress = new ProgressReporter(
      planned.length > 1 ? `[${n + 1}/${planned.length}] ${sourceUri}` : sourceUri,
    );
    try {
      const { usage } = await runJob(sourceUri, outputDir, setup.options, {
        store: setup.store,
        embedder: setup.embedder,
        model: setup.endpoint.model,
        endpoint: setup.endpoint.baseUrl ?? 'offline',
        onProgress: progress.update,
      });
      progress.done();
      const { rows, requests, tokens, timing } = usage;
      io.stdout(
        `${sourceUri} -> ${outputDir} (${rows.embedded} rows embedded, ${rows.rejected} rejected, ${rows.deduplicated} deduplicated, ${rows.reused} reused; ${requests.sent} requests, ${requests.retried} retried; ${tokens.total} tokens; ${(timing.duration_ms / 1000).toFixed(1)} s)`,
      );
    } catch (error) {
      progress.done();
      failed++;
      io.stderr(errorLine(error, sourceUri));
      if (isFatalForJob(error)) {
        failed += planned.length - n - 1;
        break;
      }
    }
  }
  return failed;
}

/** `embed-batch run`: embeds each input file. Returns the exit status. */
export async function runCommand(argv: readonly string[], io: Io): Promise<number> {
  const setup = setUpJob(argv, io);
  if (setup.help) {
    io.stdout(RUN_USAGE);
    return 0;
  }
  if (setup.inputs.length === 0) throw new ConfigError(`Expected at least one input file\n${RUN_USAGE}`);
  announceOffline(setup, io);
  const planned = await expandInputs(setup.inputs, setup.out ?? 'out', setup.store, io.cwd);
  return (await runPlanned(planned, setup, io)) === 0 ? 0 : 1;
}
