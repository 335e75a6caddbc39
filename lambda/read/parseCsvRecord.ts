import { isUtf8 } from 'node:buffer';
import type { KeptValue, ReadResult } from '../types.ts';
import { convertKept } from './keptColumn.ts';
import { type RecordLocation, rejectRecord } from './rejectRecord.ts';
import type { CsvColumns } from './resolveCsvColumns.ts';

/** Shared by every record without kept columns: one allocation less per record. */
const NO_KEEP: Readonly<Record<string, KeptValue>> = Object.freeze({});

/**
 * Turns one CSV row (raw field bytes, as csv-parse returns them with
 * `encoding: null`) into a record, or into a rejection whose reason names the
 * record and the column. Checks, in order: field count, the id's UTF-8 (so that
 * later rejections can carry the id), size, UTF-8 of every other field, non-blank text.
 *
 * @param invalid The reason for a field that is not UTF-8 (it names the file's own encoding).
 */
export function parseCsvRecord(
  fields: readonly Buffer[],
  at: RecordLocation,
  columns: CsvColumns,
  maxRecordBytes: number,
  invalid = 'invalid UTF-8 bytes',
): ReadResult {
  const width = columns.names.length;
  if (fields.length !== width) {
    // No id: with fields missing or extra, which one is the id is a guess.
    return rejectRecord(at, `expected ${width} fields as in the header, got ${fields.length}`);
  }
  const { idIndex, textIndex } = columns;
  let id = String(at.record);
  if (idIndex !== -1) {
    const cell = fields[idIndex]!;
    if (!isUtf8(cell)) return rejectRecord(at, invalid, { column: columns.names[idIndex] });
    if (cell.length > 0) id = cell.toString('utf8');
  }
  let bytes = 0;
  for (const field of fields) bytes += field.length;
  if (bytes > maxRecordBytes) {
    return rejectRecord(at, `${bytes} bytes, over the limit of ${maxRecordBytes} (maxRecordBytes)`, { id });
  }
  // Every field, used or not: a row with broken bytes anywhere is suspect as a whole.
  for (let i = 0; i < width; i++) {
    if (i !== idIndex && !isUtf8(fields[i]!))
      return rejectRecord(at, invalid, { column: columns.names[i], id });
  }

  // Validated above, so toString cannot slip in U+FFFD.
  const text = fields[textIndex]!.toString('utf8');
  if (text.trim() === '') return rejectRecord(at, 'empty text', { column: columns.textName, id });

  let keep = NO_KEEP;
  if (columns.keep.length > 0) {
    const kept: Record<string, KeptValue> = {};
    for (const [name, index, type] of columns.keep) {
      const cell = fields[index]!.toString('utf8');
      if (type === 'string') {
        kept[name] = cell;
        continue;
      }
      const converted = convertKept(cell, type);
      if ('problem' in converted) return rejectRecord(at, converted.problem, { column: name, id });
      kept[name] = converted.value;
    }
    keep = kept;
  }
  return { ok: true, value: { record: at.record, line: at.line, id, text, keep } };
}
