import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_MAX_OPEN } from '../batch/runAdmitted.ts';
import { RATE_BUDGET_MAX_ATTEMPTS, rateBudgetOn } from '../budget/DynamoRateBudget.ts';
import { createEmbedder } from '../embed/createEmbedder.ts';
import type { BatchEmbedder } from '../embed/types.ts';
import { ConfigError, EmbedBatchError, isFatalForJob, type JobInterruptedError } from '../errors.ts';
import { CLI_FLAGS } from '../optionNames.ts';
import type { JobOptions } from '../pipelineTypes.ts';
import { checkpointIntervalMs, exceedsMaxRejected, resolveJobOptions } from '../resolveJobOptions.ts';
import { runFiles } from '../runFiles.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isS3Uri, joinUri } from '../store/uri.ts';
import type { OutputFormat } from '../types.ts';
import { ERRORS_FILE } from '../write/ErrorsWriter.ts';
import type { UsageReport } from '../write/UsageReport.ts';
import { createStore } from './createStore.ts';
import { type EndpointConfig, endpointConfig } from './endpointConfig.ts';
import { expandInputs, type PlannedInput } from './expandInputs.ts';
import { flagError } from './flagError.ts';
import { errorLine, type Io, numberFlag, retryNotices } from './io.ts';
import { FilesProgress } from './ProgressReporter.ts';
import { StopOnSignals } from './StopOnSignals.ts';

/** Options shared by `run` and `reindex`. */
export const JOB_FLAGS_USAGE = `Options (flags win over the environment):
  --out DIR               output root (run: default out)
  --model ID              EMBEDDINGS_MODEL, default BAAI/bge-m3 (local/feature-hash offline)
  --base-url URL          EMBEDDINGS_BASE_URL; with no key and no URL the offline embedder runs
  --text-column NAME      default text; JSONL: a dotted path such as product.description
  --id-column NAME        default id (the record number when absent; named, it must exist)
  --keep-columns a,b      columns (or JSONL paths) carried into the output; JSONL fields typed as the first 100 records show them; name:string|number|integer|boolean|list sets one
  --delimiter C           CSV field separator: , ; tab | (default: sniffed from the header; tab for .tsv)
  --encoding NAME         utf-8 (default), utf-16le, utf-16be, windows-1252, latin1; a BOM wins
  --max-rejected N|P%     fail (exit 1, output still written) when more records are rejected
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
  --max-retry-wait S      seconds one batch may wait between retries before the job fails (default 300)
  --max-record-bytes N    records larger than this are rejected (default 1048576)
  --full                  start over: reuse nothing from an earlier output or checkpoint
  --checkpoint-seconds N  least time between two checkpoints of a running job (default 10)
  --files-at-once N       files embedded at once, their rows sharing requests (default 64; larger files count more)`;

export const RUN_USAGE = `Usage: embed-batch run <input...> [--out DIR|s3://bucket/prefix/] [options]

Inputs: local files or folders, s3://bucket/key, s3://bucket/prefix/ (.csv, .tsv, .jsonl, .ndjson, and .gz of them)
Exit status: 0 when every file completed and embedded something (or had no records); 1 when a
file failed, every record of a file was rejected, or --max-rejected was exceeded.
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
  'max-retry-wait': { type: 'string' },
  'max-record-bytes': { type: 'string' },
  delimiter: { type: 'string' },
  encoding: { type: 'string' },
  'max-rejected': { type: 'string' },
  full: { type: 'boolean' },
  'checkpoint-seconds': { type: 'string' },
  'files-at-once': { type: 'string' },
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
  /** `--files-at-once`: most files embedded at once. @default DEFAULT_MAX_OPEN (64) */
  readonly filesAtOnce: number;
  /** Flags a command added to the shared ones (e.g. `reindex --force`). */
  readonly extra: Readonly<Record<string, string | boolean | undefined>>;
  /** Ctrl-C and SIGTERM stop the job cleanly; undefined where the command does not listen. */
  readonly signals?: StopOnSignals;
}

/** Parses the shared job flags (plus `extraFlags`) and builds the embedder and store. */
export function setUpJob(
  argv: readonly string[],
  io: Io,
  extraFlags: Record<string, { type: 'boolean' | 'string' }> = {},
  command = 'run',
  signals?: StopOnSignals,
): JobSetup {
  const flags = { ...JOB_FLAGS, ...extraFlags };
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof flags }>>;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: flags });
  } catch (error) {
    throw flagError(error, command, Object.keys(flags));
  }
  const { values, positionals } = parsed;
  const v = values as Record<string, string | boolean | undefined>;
  const str = (name: keyof typeof JOB_FLAGS): string | undefined => v[name] as string | undefined;
  const num = (name: keyof typeof JOB_FLAGS): number | undefined => numberFlag(str(name), `--${name}`);

  const endpoint = endpointConfig({ baseUrl: str('base-url'), model: str('model') }, io.env);
  const options = resolveJobOptions({
    model: endpoint.model,
    baseUrl: endpoint.baseUrl,
    textColumn: str('text-column'),
    idColumn: str('id-column'),
    requireIdColumn: str('id-column') !== undefined,
    delimiter: str('delimiter'),
    encoding: str('encoding'),
    maxRejected: str('max-rejected'),
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
    checkpointIntervalMs: checkpointIntervalMs(num('checkpoint-seconds')),
  });
  const { embedder } = createEmbedder(
    {
      baseUrl: endpoint.baseUrl,
      apiKey: endpoint.apiKey,
      model: endpoint.model,
      dimensions: options.dimensions,
      rps: num('rps'),
      burst: num('burst'),
      tpm: num('tpm'),
      concurrency: options.concurrency,
      timeoutMs: num('timeout-ms'),
      signal: signals?.abort,
      maxRetryWait: num('max-retry-wait'),
      onRetry: retryNotices(io),
      // DynamoDB from the SDK's standard settings (AWS_ENDPOINT_URL_DYNAMODB, region, credentials).
      rateBudget: rateBudgetOn(
        str('rate-table'),
        () => new DynamoDBClient({ maxAttempts: RATE_BUDGET_MAX_ATTEMPTS }),
        { createTable: true },
      ),
    },
    CLI_FLAGS,
  );
  const filesAtOnce = num('files-at-once') ?? DEFAULT_MAX_OPEN;
  if (!Number.isInteger(filesAtOnce) || filesAtOnce < 1)
    throw new ConfigError(
      `Expected \`--files-at-once\` to be a positive integer, got ${str('files-at-once')}`,
    );
  return {
    inputs: positionals,
    out: str('out'),
    filesAtOnce,
    help: v.help === true,
    endpoint,
    options,
    embedder,
    store: createStore(io.env),
    extra: Object.fromEntries(Object.keys(extraFlags).map((name) => [name, v[name]])),
    signals,
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

/** How `runPlanned` ended. */
export interface PlannedOutcome {
  /** Files that failed. */
  readonly failed: number;
  /** Set when a signal stopped the command: the exit status it calls for. */
  readonly interrupted?: number;
}

/**
 * Embeds the planned files, several at once, in one stream of requests: one
 * embedder (one rate limit) and one packer for the whole command, so rows of
 * different files share requests and a folder of small files goes out in
 * full requests at the endpoint's rate. Each file keeps its own folder,
 * checkpoint, usage and errors, and one summary line on stdout as it
 * completes. A file that fails fails alone; bad credentials or an unknown
 * model stop the rest (after one request: the first goes alone), and so does
 * a signal, after the files at work checkpointed their progress.
 */
export async function runPlanned(
  planned: readonly PlannedInput[],
  setup: JobSetup,
  io: Io,
): Promise<PlannedOutcome> {
  const signals = setup.signals;
  const progress = new FilesProgress(
    planned.length === 1 ? (planned[0]?.sourceUri ?? '') : undefined,
    planned.length,
  );
  let failed = 0;
  let completed = 0;
  let fatalShown = false;
  const { outcomes } = await runFiles(planned, {
    job: setup.options,
    ports: {
      store: setup.store,
      embedder: setup.embedder,
      model: setup.endpoint.model,
      endpoint: setup.endpoint.baseUrl ?? 'offline',
      stop: signals?.stop,
      signal: signals?.abort,
      onNotice: (message: string) => io.stderr(`embed-batch: ${message}`),
    },
    filesAtOnce: setup.filesAtOnce,
    onProgress: (n, p) => progress.update(n, p),
    onFileEnd: async (outcome) => {
      progress.fileDone();
      const { sourceUri, outputDir } = outcome.task;
      if (outcome.status === 'done') {
        completed++;
        const { rows, requests, tokens, timing } = outcome.usage;
        io.stdout(
          `${sourceUri} -> ${outputDir} (${rows.embedded} rows embedded, ${rows.rejected} rejected, ${rows.deduplicated} deduplicated, ${rows.reused} reused; ${requests.sent} requests, ${requests.retried} retried; ${tokens.total} tokens; ${(timing.duration_ms / 1000).toFixed(1)} s)`,
        );
        // The output is complete and stays; the status says the job did not do what it was for.
        const unmet = await unmetExpectation(outcome.usage, outputDir, setup);
        if (unmet !== undefined) {
          failed++;
          io.stderr(errorLine(new EmbedBatchError(unmet), sourceUri));
        }
      } else if (outcome.status === 'failed') {
        failed++;
        // One line for the error that stopped the command; the files it stopped with it say nothing more.
        if (isFatalForJob(outcome.error)) {
          if (fatalShown) return;
          fatalShown = true;
        }
        io.stderr(errorLine(outcome.error, sourceUri));
      }
    },
  });
  progress.end();
  if (planned.length > 1) {
    // Per-file reports count a shared request in each file; the command's own count is the bill.
    const { requests, tokens } = setup.embedder;
    io.stderr(
      `embed-batch: ${planned.length} files, ${completed} completed: ${requests.sent} requests (${requests.retried} retried), ${tokens.total} tokens in all`,
    );
  }
  const interrupted = outcomes.flatMap((o) =>
    o.status === 'interrupted' ? [{ sourceUri: o.task.sourceUri, error: o.error }] : [],
  );
  const notStarted = outcomes.filter((o) => o.status === 'not-started').length;
  if (interrupted.length > 0 || (signals?.stop.aborted && notStarted > 0)) {
    io.stderr(interruptionLine(interrupted, notStarted));
    return { failed, interrupted: signals?.exitStatus ?? 130 };
  }
  // Files an error that fails every file kept from starting failed too.
  return { failed: failed + notStarted };
}

/** What a stopped command says: where the one file stood, or how many files remain. */
function interruptionLine(
  interrupted: readonly { sourceUri: string; error: JobInterruptedError }[],
  notStarted: number,
): string {
  const [only] = interrupted;
  if (only !== undefined && interrupted.length === 1 && notStarted === 0) {
    const { recordsDone, recordsEstimated } = only.error;
    const of = recordsEstimated === undefined ? '' : ` of ~${count(recordsEstimated)}`;
    return `interrupted: ${count(recordsDone)}${of} rows done in ${only.sourceUri}; run the same command to resume`;
  }
  const rows = interrupted.reduce((sum, { error }) => sum + error.recordsDone, 0);
  return `interrupted: ${interrupted.length} file(s) stopped with ${count(rows)} rows done, ${notStarted} not started; run the same command to resume`;
}

/** 41200 -> `41,200`. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The exit status of a command that ran `runPlanned`. */
export function exitStatusOf(outcome: PlannedOutcome): number {
  return outcome.interrupted ?? (outcome.failed === 0 ? 0 : 1);
}

/** Says on stderr how many files of output folders a folder or prefix held, passed over. */
export function announceSkipped(skippedOutputs: number, io: Io): void {
  if (skippedOutputs > 0)
    io.stderr(
      `embed-batch: skipped ${skippedOutputs} file(s) in output folders (inputs never include outputs)`,
    );
}

/**
 * Why a job that completed still failed, or undefined when it did its work:
 * every record rejected (nothing to show for it; a file with no records at
 * all is fine), or more rejected than `--max-rejected` allows.
 */
async function unmetExpectation(
  usage: UsageReport,
  outputDir: string,
  setup: JobSetup,
): Promise<string | undefined> {
  const { rows } = usage;
  const errorsUri = joinUri(outputDir, ERRORS_FILE);
  if (rows.read > 0 && rows.embedded === 0) {
    const first = await firstLine(setup.store, errorsUri);
    const reason = first === undefined ? '' : ` (the first: ${first})`;
    return `every record was rejected (${rows.rejected} of ${rows.read})${reason}; see ${errorsUri}`;
  }
  const over = exceedsMaxRejected(setup.options.maxRejected, rows);
  return over === undefined ? undefined : `${over}; see ${errorsUri}`;
}

/** The `reason` of the first line of an errors file, reading no more of it than that line. */
async function firstLine(store: ObjectStore, uri: string): Promise<string | undefined> {
  try {
    const { body } = await store.get(uri);
    const pieces: Buffer[] = [];
    for await (const chunk of body) {
      const buffer = Buffer.from(chunk);
      const newline = buffer.indexOf(0x0a);
      pieces.push(newline === -1 ? buffer : buffer.subarray(0, newline));
      if (newline !== -1 || pieces.length > 64) break;
    }
    const reason = (JSON.parse(Buffer.concat(pieces).toString('utf8')) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return undefined; // only a hint: the count and the file are named anyway
  }
}

/** A local `--out` must be a folder (or not exist yet): say so rather than fail later with ENOTDIR. */
export async function checkOutputFolder(out: string, cwd: string): Promise<void> {
  if (isS3Uri(out)) return;
  const absolute = path.resolve(cwd, out);
  // The nearest existing ancestor must be a folder too, or mkdir fails below it.
  for (let at = absolute; ; at = path.dirname(at)) {
    const info = await stat(at).catch(() => undefined);
    if (info !== undefined) {
      if (!info.isDirectory()) {
        throw new ConfigError(
          at === absolute
            ? `Expected \`--out\` to be a folder, but ${out} is a file`
            : `Expected \`--out\` to be a folder, but ${path.relative(cwd, at) || at} in its path is a file`,
        );
      }
      return;
    }
    if (path.dirname(at) === at) return;
  }
}

/** `embed-batch run`: embeds each input file. Returns the exit status. */
export async function runCommand(argv: readonly string[], io: Io): Promise<number> {
  const signals = new StopOnSignals();
  try {
    const setup = setUpJob(argv, io, {}, 'run', signals);
    if (setup.help) {
      io.stdout(RUN_USAGE);
      return 0;
    }
    if (setup.inputs.length === 0) throw new ConfigError(`Expected at least one input file\n${RUN_USAGE}`);
    await checkOutputFolder(setup.out ?? 'out', io.cwd);
    announceOffline(setup, io);
    const { planned, skippedOutputs } = await expandInputs(
      setup.inputs,
      setup.out ?? 'out',
      setup.store,
      io.cwd,
    );
    announceSkipped(skippedOutputs, io);
    return exitStatusOf(await runPlanned(planned, setup, io));
  } finally {
    signals.dispose();
  }
}
