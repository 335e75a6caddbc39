import type { RequestPacker } from './batch/RequestPacker.ts';
import type { BatchEmbedder } from './embed/types.ts';
import type { CsvDelimiter } from './read/CsvDelimiter.ts';
import type { InputEncoding } from './read/transcodeToUtf8.ts';
import type { ObjectStore } from './store/ObjectStore.ts';
import type { OutputFormat } from './types.ts';
import type { UsageReport } from './write/UsageReport.ts';

/** What to do with one input file. Defaults are applied by `resolveJobOptions`. */
export interface JobOptions {
  /** @default 'text' */
  readonly textColumn: string;
  /** @default 'id' */
  readonly idColumn: string;
  /** The id column was named (`--id-column`): a file without it fails instead of being numbered. @default false */
  readonly requireIdColumn?: boolean;
  /** @default [] */
  readonly keepColumns: readonly string[];
  /** @default 'parquet' */
  readonly format: OutputFormat;
  /** Write the text column. @default true */
  readonly includeText: boolean;
  /** Requested output dimensions (`dimensions` in the request); undefined lets the model decide. */
  readonly dimensions?: number;
  /** Max inputs per request. @default 128 (IONOS) / 256 */
  readonly batchSize: number;
  /** Max estimated tokens per request. @default derived from the model */
  readonly maxBatchTokens: number;
  /** Max request body bytes. @default 1_500_000 (under TEI's 2 MB) */
  readonly maxBatchBytes: number;
  /** Requests in flight at once. @default 8 */
  readonly concurrency: number;
  /** Rows per part file. @default derived from the dimensions (about 32 MiB of vectors) */
  readonly rowsPerPart?: number;
  /** Records over this many UTF-8 bytes are rejected. @default 1 MiB */
  readonly maxRecordBytes: number;
  /** Re-embed everything even when an earlier output could be reused, and ignore any checkpoint. @default false */
  readonly full: boolean;
  /** Least time between two checkpoints of a running job. @default 10_000 */
  readonly checkpointIntervalMs?: number;
  /** CSV field separator. @default sniffed from the header (tab for `.tsv`) */
  readonly delimiter?: CsvDelimiter;
  /** Text encoding of the inputs; a byte order mark wins. @default 'utf-8' */
  readonly encoding?: InputEncoding;
  /**
   * Most rejected records a job may have and still succeed (`--max-rejected`):
   * a count, or a share of the records read. The output is written either way;
   * the caller decides the exit status (`exceedsMaxRejected`). @default no limit
   */
  readonly maxRejected?: MaxRejected;
}

/** `--max-rejected N` or `--max-rejected P%`. */
export type MaxRejected = { readonly count: number } | { readonly percent: number };

/** Progress of a running job, for the CLI's stderr and the handler's logs. */
export interface JobProgress {
  readonly rowsRead: number;
  readonly rowsEmbedded: number;
  readonly rowsRejected: number;
  readonly tokens: number;
  readonly retries: number;
  readonly elapsedMs: number;
}

/** The real things the pipeline talks to; built by cli.ts or handler.ts. */
export interface JobPorts {
  readonly store: ObjectStore;
  readonly embedder: BatchEmbedder;
  /**
   * Packs this job's texts into requests, beside those of the other jobs that
   * share it (files of one command, messages of one invocation).
   * @default one of its own over `embedder`
   */
  readonly packer?: RequestPacker;
  /** Model id recorded in outputs and hashed into `content_hash`. */
  readonly model: string;
  /** Endpoint base URL recorded in usage.json (never a key). */
  readonly endpoint: string;
  readonly now?: () => Date;
  readonly onProgress?: (progress: JobProgress) => void;
  /** Told what the reader decided on its own (a sniffed delimiter, a BOM's encoding); for stderr or logs. */
  readonly onNotice?: (message: string) => void;
  /** Aborts the job at once (requests in flight are cancelled). */
  readonly signal?: AbortSignal;
  /**
   * Stops the job cleanly: no new requests, answers in flight kept, progress
   * checkpointed, then `JobInterruptedError`. Fire it some seconds before `signal`.
   */
  readonly stop?: AbortSignal;
  /** Who runs the job, named to another run that finds the output folder locked. @default pid and host */
  readonly holder?: string;
}

/** What `runJob` returns. */
export interface JobResult {
  readonly usage: UsageReport;
  readonly manifestUri: string;
}
