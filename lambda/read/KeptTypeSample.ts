import type { KeptType } from '../types.ts';
import { jsonField } from './jsonField.ts';

/** What a JSON value is, as far as choosing a column type goes. */
type JsonKind = 'string' | 'number' | 'boolean' | 'array' | 'object';

function kindOf(value: unknown): JsonKind {
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'number' || type === 'boolean' || type === 'string' ? type : 'object';
}

/**
 * The column type of a JSONL field whose values, in the records looked at,
 * were of these kinds (absent and null not counted):
 *
 * - only numbers: `number` (float64, as JSON.parse reads every number; an
 *   integer column that later shows 1.5 must not reject it, so there is no
 *   guessed int64: declare `name:integer` for that);
 * - only booleans: `boolean`;
 * - only arrays: `list` (of strings, as a declared `list`);
 * - anything else (only strings, objects, a mix of kinds, or no value at all): `string`,
 *   which holds every value (JSON text for non-strings) and so never rejects a record
 *   on the strength of a guess.
 */
export function keptTypeOf(kinds: ReadonlySet<JsonKind>): KeptType {
  if (kinds.size !== 1) return 'string';
  const [kind] = kinds;
  if (kind === 'number') return 'number';
  if (kind === 'boolean') return 'boolean';
  if (kind === 'array') return 'list';
  return 'string';
}

/**
 * Watches the first JSON objects of a file for the kinds of value each kept
 * field holds, and then names the field's type (`keptTypeOf`). The same
 * objects a `JsonlFieldCheck` looks at, so "the first records" means one
 * thing.
 */
export class KeptTypeSample {
  readonly #kinds = new Map<string, Set<JsonKind>>();
  #objects = 0;

  /** @param names Kept fields (dotted paths allowed) whose type is to be found. */
  constructor(names: readonly string[]) {
    for (const name of names) this.#kinds.set(name, new Set());
  }

  /** Objects seen so far. */
  get objects(): number {
    return this.#objects;
  }

  /** Takes note of one record's object. */
  observe(object: Record<string, unknown>): void {
    this.#objects++;
    for (const [name, kinds] of this.#kinds) {
      const value = jsonField(object, name);
      if (value !== undefined && value !== null) kinds.add(kindOf(value));
    }
  }

  /** The type of a field named to the constructor, as the objects seen show it. */
  typeOf(name: string): KeptType {
    return keptTypeOf(this.#kinds.get(name) ?? new Set());
  }
}
