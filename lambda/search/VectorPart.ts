/**
 * One part file opened for a search scan: its vectors in batches, then the
 * other columns of the few rows that won.
 */

import type { VectorKernel } from './kernel/VectorKernel.ts';

/** A run of consecutive rows' vectors. */
export interface VectorBatch {
  /** Row group (Parquet) or record batch (Arrow) the rows are in. */
  readonly group: number;
  readonly rows: number;
  /**
   * `rows x dimensions` floats from `offset` on, row after row: a view, not a
   * copy, and valid only until the next batch is asked for (buffers are reused).
   */
  readonly values: Float32Array;
  readonly offset: number;
}

/** Where a row is: its group and its index in the group. */
export interface RowAddress {
  readonly group: number;
  readonly row: number;
}

/** The columns of one row other than `embedding` and `content_hash`, as plain JSON values. */
export type RowColumns = Readonly<Record<string, unknown>>;

/** A part file, read in two passes: every vector, then the winners' other columns. */
export interface VectorPart {
  readonly uri: string;
  /** Schema metadata `embedding.model`. */
  readonly model: string;
  readonly dimensions: number;
  readonly rows: number;
  /**
   * The vectors, one batch at a time: memory holds one batch (a Parquet row
   * group), not the file. A part that decodes its vectors puts them in
   * `kernel`'s batch, where they are scored without a copy; the kernel is the
   * scan's own, so no other scan can overwrite them before they are scored.
   */
  batches(kernel: VectorKernel): AsyncIterable<VectorBatch>;
  /** The other columns of the given rows, in the order asked. */
  columnsOf(rows: readonly RowAddress[]): Promise<RowColumns[]>;
}

/** Columns a search result leaves out: the vector, and the hash that only reuse needs. */
export const UNRETURNED_COLUMNS: ReadonlySet<string> = new Set(['embedding', 'content_hash']);

/** An Arrow cell as a plain JSON value: bigints as numbers (or strings past 2^53), lists as arrays. */
export function plainValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (typeof value === 'object' && Symbol.iterator in value && typeof value !== 'string') {
    return [...(value as Iterable<unknown>)].map(plainValue);
  }
  return value;
}
