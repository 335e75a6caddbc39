import { isUtf8 } from 'node:buffer';
import type { KeptValue, ReadResult } from '../types.ts';
import type { JsonlFieldCheck } from './JsonlFieldCheck.ts';
import { jsonField } from './jsonField.ts';
import { convertKept } from './keptColumn.ts';
import { type RecordLocation, rejectRecord } from './rejectRecord.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';

/** Shared by every record without kept columns: one allocation less per record. */
const NO_KEEP: Readonly<Record<string, KeptValue>> = Object.freeze({});

/** Longest parser message quoted in a reason; V8 quotes the input in some of them. */
const MAX_MESSAGE = 200;

type JsonlColumns = Pick<ResolvedReaderOptions, 'textColumn' | 'idColumn' | 'kept'>;

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * A UTF-16 surrogate not in a pair: JSON's `\ud800` escapes can spell one,
 * and it has no UTF-8 form (it would be written, and hashed, as U+FFFD).
 */
const LONE_SURROGATE = /\p{Cs}/u;

function loneSurrogate(value: string): string | undefined {
  const match = LONE_SURROGATE.exec(value);
  if (match === null) return undefined;
  return `invalid Unicode: a lone surrogate \\u${match[0].charCodeAt(0).toString(16)} (a JSON \\u escape without its pair)`;
}

/**
 * Turns one non-blank JSONL line into a record, or into a rejection whose
 * reason names the record and the field. Field names may be dotted paths
 * into nested objects (`jsonField`).
 *
 * - The line must be valid UTF-8 and a JSON object.
 * - Strings used (text, id, kept) must be valid Unicode: a lone surrogate is
 *   rejected like invalid UTF-8, never turned into U+FFFD.
 * - Text: a string that is not blank; numbers and booleans are taken as their
 *   string form; null, objects and arrays are rejected.
 * - Id: a string or number; absent, null or "" gives the record number. An integer
 *   beyond 2^53 is rejected: JSON.parse has already rounded it, and a silently
 *   changed id is worse than a rejected row.
 * - Kept fields: strings as they are, absent or null as "", anything else as JSON;
 *   or, given as `name:type`, converted to the type (`convertKept`), rejected when they do not convert.
 */
export function parseJsonlRecord(
  line: Buffer,
  at: RecordLocation,
  columns: JsonlColumns,
  invalid = 'invalid UTF-8 bytes',
  check?: JsonlFieldCheck,
): ReadResult {
  if (!isUtf8(line)) return rejectRecord(at, `${invalid} in the line`);
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const short = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}...` : message;
    return rejectRecord(at, `invalid JSON (${short})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return rejectRecord(at, `expected a JSON object, got ${kind(value)}`);
  }
  const object = value as Record<string, unknown>;
  check?.observe(object);

  const { idColumn, textColumn } = columns;
  const idValue = jsonField(object, idColumn);
  let id: string;
  if (idValue === undefined || idValue === null || idValue === '') {
    id = String(at.record);
  } else if (typeof idValue === 'string') {
    const bad = loneSurrogate(idValue);
    if (bad !== undefined) return rejectRecord(at, bad, { column: idColumn });
    id = idValue;
  } else if (typeof idValue === 'number' && Number.isFinite(idValue)) {
    if (Number.isInteger(idValue) && !Number.isSafeInteger(idValue)) {
      return rejectRecord(at, 'a number too large to keep exactly; write the id as a string', {
        column: idColumn,
      });
    }
    id = String(idValue);
  } else {
    return rejectRecord(at, `expected a string or a number, got ${kind(idValue)}`, { column: idColumn });
  }

  const textValue = jsonField(object, textColumn);
  let text: string;
  if (typeof textValue === 'string') {
    const bad = loneSurrogate(textValue);
    if (bad !== undefined) return rejectRecord(at, bad, { column: textColumn, id });
    text = textValue;
  } else if (typeof textValue === 'number' || typeof textValue === 'boolean') {
    text = String(textValue);
  } else if (textValue === undefined) {
    return rejectRecord(at, 'missing field', { column: textColumn, id });
  } else {
    return rejectRecord(at, `expected a string, got ${kind(textValue)}`, { column: textColumn, id });
  }
  if (text.trim() === '') return rejectRecord(at, 'empty text', { column: textColumn, id });

  let keep = NO_KEEP;
  if (columns.kept.length > 0) {
    const kept: Record<string, KeptValue> = {};
    for (const { name, type } of columns.kept) {
      const cell = jsonField(object, name);
      if (typeof cell === 'string') {
        const bad = loneSurrogate(cell);
        if (bad !== undefined) return rejectRecord(at, bad, { column: name, id });
      }
      // JSON.stringify writes a lone surrogate nested in an object or list as a \u escape: no U+FFFD either.
      const converted = convertKept(cell, type);
      if ('problem' in converted) return rejectRecord(at, converted.problem, { column: name, id });
      kept[name] = converted.value;
    }
    keep = kept;
  }
  return { ok: true, value: { record: at.record, line: at.line, id, text, keep } };
}
