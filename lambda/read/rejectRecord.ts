import type { ReadResult, RejectedRecord } from '../types.ts';

/** Where a record sits in its file: numbers already shifted by the shard offsets. */
export interface RecordLocation {
  /** 1-based record number. */
  readonly record: number;
  /** 1-based line where the record starts. */
  readonly line?: number;
}

/**
 * Builds the reader's answer for a refused record. The reason always starts with
 * the location, e.g. `record 17 (line 18), column "text": empty text`, so that an
 * `errors.jsonl` line can be understood without the other fields.
 */
export function rejectRecord(
  at: RecordLocation,
  problem: string,
  { column, id }: { readonly column?: string; readonly id?: string } = {},
): ReadResult {
  let where = at.line === undefined ? `record ${at.record}` : `record ${at.record} (line ${at.line})`;
  if (column !== undefined) where += `, column ${JSON.stringify(column)}`;
  const rejected: { -readonly [K in keyof RejectedRecord]: RejectedRecord[K] } = {
    record: at.record,
    reason: `${where}: ${problem}`,
  };
  // Absent rather than undefined, so that errors.jsonl lines carry no empty keys.
  if (at.line !== undefined) rejected.line = at.line;
  if (id !== undefined) rejected.id = id;
  return { ok: false, rejected };
}
