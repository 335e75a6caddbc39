/**
 * The library API: `embedFile` and `embedFiles`, the CLI's `run` as calls
 * for a data team's own Node ETL code.
 */

import { createStore } from '../commands/createStore.ts';
import { endpointConfig } from '../commands/endpointConfig.ts';
import { expandInputs } from '../commands/expandInputs.ts';
import { type CreatedEmbedder, createEmbedder } from '../embed/createEmbedder.ts';
import type { RetryEvent } from '../embed/ResilientEmbedder.ts';
import { ConfigError, EmbedBatchError } from '../errors.ts';
import { API_OPTIONS } from '../optionNames.ts';
import type { JobProgress } from '../pipelineTypes.ts';
import { checkpointIntervalMs, exceedsMaxRejected, resolveJobOptions } from '../resolveJobOptions.ts';
import { type FileOutcome, runFiles, sumProgress } from '../runFiles.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { joinUri } from '../store/uri.ts';
import type { OutputFormat, RequestStats, TokenStats } from '../types.ts';
import type { UsageReport } from '../write/UsageReport.ts';
import { checkEmbedOptions } from './checkEmbedOptions.ts';
import { envWithKey } from './envWithKey.ts';

/**
 * Options of {@link embedFiles} and {@link embedFile}: those of
 * `embed-batch run`, as an object. Every one has the CLI's default.
 */
export interface EmbedOptions {
  /**
   * Output root. Each input's folder below it keeps the input's path (below
   * `cwd`, or below the listed folder or prefix) and whole file name, as
   * `run --out` places it: `<out>/x/y/products.csv/`. Local or `s3://bucket/prefix/`.
   * @default 'out'
   */
  readonly out?: string;
  /** Where relative paths (inputs and `out`) start. @default process.cwd() */
  readonly cwd?: string;
  /** Where files are read and written: local paths and `s3://` URIs. @default local files, and S3 from the SDK's standard settings */
  readonly store?: ObjectStore;
  /**
   * An embedding stage from {@link createEmbedder}, to share one rate limit
   * across calls. When given, the endpoint options below are not used.
   * @default one built from the endpoint options
   */
  readonly embedder?: CreatedEmbedder;
  /** Endpoint base URL. @default `EMBEDDINGS_BASE_URL`; with no key either, the offline embedder */
  readonly baseUrl?: string;
  /** API key. Never logged or written. @default `EMBEDDINGS_API_KEY` or `IONOS_API_TOKEN` */
  readonly apiKey?: string;
  /** Model id. @default `EMBEDDINGS_MODEL`, else `BAAI/bge-m3` (offline: `local/feature-hash`) */
  readonly model?: string;
  /** Ask the model for this many dimensions. @default the model's own */
  readonly dimensions?: number;
  /** Requests per second. @default 5 on IONOS, else none until a 429 */
  readonly rps?: number;
  /** Requests that may go at once after an idle spell, with `rps`. @default 1 (evenly paced) */
  readonly burst?: number;
  /** Tokens per minute. @default none */
  readonly tpm?: number;
  /** Requests in flight at once (lowered on 429). @default 8 */
  readonly concurrency?: number;
  /** Per-request timeout in ms. @default 60_000 */
  readonly timeoutMs?: number;
  /** Seconds one batch may wait between retries before the job fails. @default 300 */
  readonly maxRetryWait?: number;
  /** Environment the defaults above come from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Text column (JSONL: a dotted path). @default 'text' */
  readonly textColumn?: string;
  /** Id column; named, it must exist. @default 'id' (the record number when absent) */
  readonly idColumn?: string;
  /** Columns (JSONL paths) carried into the output; `name:number|integer|boolean|list` types one. @default [] */
  readonly keepColumns?: readonly string[];
  /** @default 'parquet' */
  readonly format?: OutputFormat;
  /** Write the text column. @default true */
  readonly includeText?: boolean;
  /** Most inputs per request. @default 128 on IONOS, else 256 */
  readonly batchSize?: number;
  /** Rows per part file. @default about 32 MiB of vectors */
  readonly partRows?: number;
  /** Records larger than this many bytes are rejected. @default 1_048_576 */
  readonly maxRecordBytes?: number;
  /** CSV field separator: `,` `;` `\t` `|`. @default sniffed from the header (tab for .tsv) */
  readonly delimiter?: string;
  /** `utf-8`, `utf-16le`, `utf-16be`, `windows-1252`, `latin1`; a BOM wins. @default 'utf-8' */
  readonly encoding?: string;
  /** Most rejected records (`10`, or `'5%'`) before a file counts as failed; its output is written either way. @default no limit */
  readonly maxRejected?: number | string;
  /** Reuse nothing from an earlier output or checkpoint. @default false */
  readonly full?: boolean;
  /** Least seconds between two checkpoints. @default 10 */
  readonly checkpointSeconds?: number;
  /** Most files at once, their rows sharing requests (larger files count more). @default 64 */
  readonly filesAtOnce?: number;
  /**
   * Stops the call cleanly: no new request, answers in flight kept for
   * `graceMs`, each open file checkpointed. `embedFile` then rejects with a
   * `JobInterruptedError`; `embedFiles` reports such files as `interrupted`.
   * The same call again resumes them.
   */
  readonly signal?: AbortSignal;
  /** After `signal`, how long answers in flight are waited for. @default 5000 */
  readonly graceMs?: number;
  /** Progress of all files together, about every finished batch. */
  readonly onProgress?: (progress: FilesProgressEvent) => void;
  /** Told each file's result as it ends. */
  readonly onFileEnd?: (result: FileResult) => void;
  /** What the reader decided on its own (a sniffed delimiter, typed kept fields). */
  readonly onNotice?: (message: string) => void;
  /** Each request attempt that failed and will be tried again. */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** Progress of an {@link embedFiles} call. */
export interface FilesProgressEvent extends JobProgress {
  readonly filesDone: number;
  readonly filesTotal: number;
}

/** How one file of an {@link embedFiles} call ended. */
export interface FileResult {
  /** The input file (an absolute path or an `s3://` URI). */
  readonly input: string;
  readonly outputDir: string;
  /**
   * `done`: complete, with its manifest. `failed`: see `error` (a file whose
   * output was written but exceeded `maxRejected`, or had every record
   * rejected, is failed with its `usage`). `interrupted`: stopped by
   * `signal` at its checkpoint. `not-started`: an error that fails every
   * file, or the signal, came first.
   */
  readonly status: 'done' | 'failed' | 'interrupted' | 'not-started';
  readonly usage?: UsageReport;
  readonly manifestUri?: string;
  readonly error?: unknown;
}

/** What {@link embedFiles} did. */
export interface EmbedFilesResult {
  /** One per input file, in input order (folders and prefixes expanded). */
  readonly files: FileResult[];
  /** Files that did not end `done`. */
  readonly failed: number;
  /** Requests of the whole call, each counted once (a file's usage counts every request that carried its rows). */
  readonly requests: RequestStats;
  readonly tokens: TokenStats;
}

/**
 * Embeds files, folders and `s3://` prefixes, several files at once in one
 * stream of requests, each into its own output folder with its manifest,
 * usage report and errors, exactly as `embed-batch run` does.
 *
 * @throws {ConfigError} for an option that is not valid (the message names it).
 */
export async function embedFiles(
  inputs: readonly string[],
  options: EmbedOptions = {},
): Promise<EmbedFilesResult> {
  if (!Array.isArray(inputs) || inputs.some((input) => typeof input !== 'string'))
    throw new ConfigError('Expected `inputs` to be a list of files, folders or s3:// URIs (strings)');
  if (inputs.length === 0) throw new ConfigError('Expected at least one input file');
  checkEmbedOptions(options);
  const env = envWithKey(options);
  const endpoint = endpointConfig({ baseUrl: options.baseUrl, model: options.model }, env, API_OPTIONS);
  const job = resolveJobOptions(
    {
      model: options.embedder?.transport.model ?? endpoint.model,
      baseUrl: endpoint.baseUrl,
      textColumn: options.textColumn,
      idColumn: options.idColumn,
      requireIdColumn: options.idColumn !== undefined,
      keepColumns: options.keepColumns,
      format: options.format,
      includeText: options.includeText,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      dimensions: options.dimensions,
      rowsPerPart: options.partRows,
      maxRecordBytes: options.maxRecordBytes,
      delimiter: options.delimiter,
      encoding: options.encoding,
      maxRejected: options.maxRejected === undefined ? undefined : String(options.maxRejected),
      full: options.full ?? false,
      checkpointIntervalMs: checkpointIntervalMs(options.checkpointSeconds, API_OPTIONS),
    },
    API_OPTIONS,
  );
  const filesAtOnce = options.filesAtOnce;
  if (filesAtOnce !== undefined && !(Number.isInteger(filesAtOnce) && filesAtOnce >= 1))
    throw new ConfigError(`Expected \`filesAtOnce\` to be a positive integer, got ${filesAtOnce}`);

  // The signal stops cleanly; the hard stop follows after the grace, as Ctrl-C does on the CLI.
  const hard = new AbortController();
  const graceMs = options.graceMs ?? 5_000;
  let graceTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    graceTimer = setTimeout(() => hard.abort(options.signal?.reason), graceMs);
    graceTimer.unref();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const created =
      options.embedder ??
      createEmbedder({
        baseUrl: endpoint.baseUrl,
        apiKey: endpoint.apiKey,
        model: endpoint.model,
        dimensions: job.dimensions,
        rps: options.rps,
        burst: options.burst,
        tpm: options.tpm,
        concurrency: job.concurrency,
        timeoutMs: options.timeoutMs,
        maxRetryWait: options.maxRetryWait,
        signal: hard.signal,
        onRetry: options.onRetry,
      });
    const store = options.store ?? createStore(env);
    const { planned } = await expandInputs(inputs, options.out ?? 'out', store, options.cwd ?? process.cwd());
    const before = snapshot(created.embedder);
    const progress = new Map<number, JobProgress>();
    let filesDone = 0;
    const startedMs = performance.now();
    const results: FileResult[] = [];
    const { outcomes } = await runFiles(planned, {
      job,
      ports: {
        store,
        embedder: created.embedder,
        model: created.transport.model,
        endpoint: created.transport.endpoint,
        stop: options.signal,
        signal: hard.signal,
        onNotice: options.onNotice,
      },
      filesAtOnce,
      onProgress: (index, p) => {
        progress.set(index, p);
        if (options.onProgress === undefined) return;
        options.onProgress({
          ...sumProgress(progress.values(), performance.now() - startedMs),
          filesDone,
          filesTotal: planned.length,
        });
      },
      onFileEnd: (outcome) => {
        filesDone++;
        options.onFileEnd?.(resultOf(outcome, job.maxRejected));
      },
    });
    for (const outcome of outcomes) results.push(resultOf(outcome, job.maxRejected));
    const after = snapshot(created.embedder);
    return {
      files: results,
      failed: results.filter((r) => r.status !== 'done').length,
      requests: difference(after.requests, before.requests),
      tokens: {
        prompt: after.tokens.prompt - before.tokens.prompt,
        total: after.tokens.total - before.tokens.total,
      },
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (graceTimer !== undefined) clearTimeout(graceTimer);
  }
}

/**
 * Embeds one file into its output folder (see {@link EmbedOptions.out}) and
 * returns its usage report.
 *
 * @throws the file's error: a `ConfigError` or `InputError` for bad options or
 *   input, an `EndpointError` (e.g. `AuthenticationError`), a
 *   `JobInterruptedError` when `signal` stopped it (progress checkpointed),
 *   or an `EmbedBatchError` when more records were rejected than `maxRejected`
 *   allows or every record was (the output is written either way).
 */
export async function embedFile(input: string, options: EmbedOptions = {}): Promise<UsageReport> {
  if (typeof input !== 'string')
    throw new ConfigError(`Expected \`input\` to be a file or s3:// URI (a string), got ${typeof input}`);
  const { files } = await embedFiles([input], options);
  if (files.length !== 1) throw new ConfigError(`Expected ${input} to be one file, found ${files.length}`);
  const [file] = files as [FileResult];
  if (file.status === 'done' && file.usage !== undefined) return file.usage;
  throw file.error ?? new EmbedBatchError(`${input}: not embedded`);
}

/** The public view of one outcome; a written output that missed its expectation is `failed`. */
function resultOf(outcome: FileOutcome, maxRejected: Parameters<typeof exceedsMaxRejected>[0]): FileResult {
  const base = { input: outcome.task.sourceUri, outputDir: outcome.task.outputDir };
  if (outcome.status === 'done') {
    const { usage, manifestUri } = outcome;
    const { rows } = usage;
    const unmet =
      rows.read > 0 && rows.embedded === 0
        ? `every record was rejected (${rows.rejected} of ${rows.read}); see ${joinUri(outcome.task.outputDir, 'errors.jsonl')}`
        : exceedsMaxRejected(maxRejected, rows, API_OPTIONS.maxRejected);
    if (unmet !== undefined)
      return {
        ...base,
        status: 'failed',
        usage,
        manifestUri,
        error: new EmbedBatchError(`${base.input}: ${unmet}`),
      };
    return { ...base, status: 'done', usage, manifestUri };
  }
  if (outcome.status === 'not-started') return { ...base, status: 'not-started' };
  return { ...base, status: outcome.status, error: outcome.error };
}

function snapshot(embedder: CreatedEmbedder['embedder']): { requests: RequestStats; tokens: TokenStats } {
  return {
    requests: { ...embedder.requests, byStatus: { ...embedder.requests.byStatus } },
    tokens: { ...embedder.tokens },
  };
}

function difference(after: RequestStats, before: RequestStats): RequestStats {
  const byStatus: Record<string, number> = {};
  for (const [status, n] of Object.entries(after.byStatus)) {
    const delta = n - (before.byStatus[status] ?? 0);
    if (delta > 0) byStatus[status] = delta;
  }
  return {
    sent: after.sent - before.sent,
    succeeded: after.succeeded - before.succeeded,
    retried: after.retried - before.retried,
    throttled: after.throttled - before.throttled,
    failed: after.failed - before.failed,
    byStatus,
  };
}
