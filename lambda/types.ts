/**
 * Shared data shapes of the pipeline. Data flows one way:
 * bytes -> records -> batches -> vectors -> Arrow record batches -> part files -> manifest.
 */

/** Input file formats the readers understand. */
export type InputFormat = 'csv' | 'jsonl';

/** Output file formats the writers produce. */
export type OutputFormat = 'parquet' | 'arrow' | 'both';

/** One valid input record, ready to embed. */
export interface InputRecord {
  /** 1-based record number (data records, the CSV header not counted). */
  readonly record: number;
  /** 1-based line of the file where the record starts, where known. */
  readonly line?: number;
  /** Value of the id column, or the record number as a string when the file has no id column. */
  readonly id: string;
  /** Text to embed (never empty, never containing U+FFFD from bad UTF-8). */
  readonly text: string;
  /**
   * Kept columns (`--keep-columns`), by column name: strings ('' when absent),
   * or the type given as `name:type` (null when absent).
   */
  readonly keep: Readonly<Record<string, KeptValue>>;
}

/** The type a kept column is written as (`--keep-columns price:number`). @default 'string' */
export type KeptType = 'string' | 'number' | 'integer' | 'boolean' | 'list';

/** A kept value: Utf8, Float64, Int64, Bool, List<Utf8>, or null (absent) for the non-string types. */
export type KeptValue = string | number | bigint | boolean | readonly string[] | null;

/** A record refused by the reader or the endpoint; one line of `errors.jsonl`. */
export interface RejectedRecord {
  readonly record: number;
  readonly line?: number;
  readonly id?: string;
  readonly reason: string;
}

/** What a reader yields for every record of the file: exactly one per record. */
export type ReadResult =
  | { readonly ok: true; readonly value: InputRecord }
  | { readonly ok: false; readonly rejected: RejectedRecord };

/** A record with its vector, ready for the writer. */
export interface EmbeddedRow {
  readonly record: InputRecord;
  /** hex sha256 of `model + "\n" + text`. */
  readonly contentHash: string;
  readonly vector: Float32Array;
}

/** Counters of HTTP requests to the embeddings endpoint (usage.json `requests`). */
export interface RequestStats {
  /** Every HTTP attempt, retries included. */
  sent: number;
  /** Attempts answered with a usable 2xx response. */
  succeeded: number;
  /** Attempts that failed and were tried again. */
  retried: number;
  /** Attempts answered with 429. */
  throttled: number;
  /** Attempts that failed and were not tried again (gave up, or a non-retryable error). */
  failed: number;
  /** Attempts by HTTP status; network failures and timeouts under "network" and "timeout". */
  byStatus: Record<string, number>;
}

/** Token counts as reported by the endpoint (usage.json `tokens`). */
export interface TokenStats {
  prompt: number;
  total: number;
}

/** Where the source came from (usage.json `source`, manifest `source`). */
export interface SourceInfo {
  readonly uri: string;
  readonly etag?: string;
  readonly bytes: number;
  readonly format?: InputFormat;
}

/** One written output file (usage.json `outputs`, manifest `parts`). */
export interface OutputFile {
  readonly uri: string;
  readonly rows: number;
  readonly bytes: number;
}

/** Creates zeroed request counters. */
export function emptyRequestStats(): RequestStats {
  return { sent: 0, succeeded: 0, retried: 0, throttled: 0, failed: 0, byStatus: {} };
}
