import type { KeptType, KeptValue } from '../types.ts';

/** The types a kept column may be given as `name:type`. */
export const KEPT_TYPES: readonly KeptType[] = ['string', 'number', 'integer', 'boolean', 'list'];

/** One `--keep-columns` entry: the column (or JSONL path) and the type it is written as. */
export interface KeptColumn {
  readonly name: string;
  readonly type: KeptType;
}

/**
 * The type a `--keep-columns` entry declares (`price:number` -> `number`,
 * `title:string` -> `string`), or undefined for a bare name (`category`),
 * whose type is the reader's default: text for CSV, inferred for JSONL
 * (`inferKeptColumns`).
 */
export function declaredType(spec: string): KeptType | undefined {
  const colon = spec.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const type = spec
    .slice(colon + 1)
    .trim()
    .toLowerCase();
  return (KEPT_TYPES as readonly string[]).includes(type) ? (type as KeptType) : undefined;
}

/**
 * Reads one `--keep-columns` entry: `category`, or `price:number`. Only a
 * known type after the last `:` is a type, so a column literally named
 * `time:utc` stays that column. A bare name is a string column here: any
 * inference has already rewritten the entry as `name:type`.
 */
export function parseKeptColumn(spec: string): KeptColumn {
  const type = declaredType(spec);
  if (type === undefined) return { name: spec, type: 'string' };
  return { name: spec.slice(0, spec.lastIndexOf(':')).trim(), type };
}

/** The output column names of `--keep-columns` entries, in order. */
export function keptColumnNames(specs: readonly string[]): string[] {
  return specs.map((spec) => parseKeptColumn(spec).name);
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const INT64_MAX = 2n ** 63n - 1n;

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : kind(value);
  return text.length > 40 ? `${text.slice(0, 40)}..."` : text;
}

/** A converted value, or why it does not convert. */
export type Converted = { readonly value: KeptValue } | { readonly problem: string };

/**
 * Converts a kept value to its column's type. `value` is a JSON value (JSONL)
 * or the cell's text (CSV); undefined is an absent field. Absent, null and
 * (CSV) empty cells are '' for strings and null for every other type.
 * Numbers are JSON numbers or text in JSON's number syntax (no thousands
 * separators, no decimal commas); integers must fit 64 bits; booleans are
 * `true`/`false` (any case) or `1`/`0`; lists are JSON arrays, their strings
 * kept and anything else written as JSON.
 */
export function convertKept(value: unknown, type: KeptType): Converted {
  if (type === 'string') {
    if (typeof value === 'string') return { value };
    return { value: value === undefined || value === null ? '' : JSON.stringify(value) };
  }
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return { value: null };
  }
  const text = typeof value === 'string' ? value.trim() : undefined;
  switch (type) {
    case 'number':
      if (typeof value === 'number') return { value };
      if (text !== undefined && NUMBER.test(text)) return { value: Number(text) };
      return { problem: `expected a number, got ${show(value)}` };
    case 'integer': {
      let big: bigint | undefined;
      if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
      else if (text !== undefined && INTEGER.test(text)) big = BigInt(text);
      if (big !== undefined && big <= INT64_MAX && big >= -INT64_MAX - 1n) return { value: big };
      return { problem: `expected an integer (64 bits), got ${show(value)}` };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      const lower = text?.toLowerCase();
      if (lower === 'true' || lower === '1') return { value: true };
      if (lower === 'false' || lower === '0') return { value: false };
      return { problem: `expected true or false, got ${show(value)}` };
    }
    case 'list': {
      let array: unknown = value;
      if (text !== undefined) {
        try {
          array = JSON.parse(text);
        } catch {
          array = undefined;
        }
      }
      if (!Array.isArray(array)) return { problem: `expected a JSON array, got ${show(value)}` };
      return {
        value: array.map((item) => (typeof item === 'string' ? item : (JSON.stringify(item) ?? 'null'))),
      };
    }
  }
}
