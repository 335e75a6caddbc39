import { InputError } from '../errors.ts';
import { jsonField } from './jsonField.ts';
import type { ResolvedReaderOptions } from './resolveReaderOptions.ts';

/** JSON objects looked at before a field absent from all of them fails the file. */
export const FIELD_CHECK_RECORDS = 100;

/** Bytes of records after which the check decides on what it has seen, fewer records or not: memory stays bounded. */
export const FIELD_CHECK_BYTES = 16 * 1_048_576;

/** Field names listed in the message, at most; nested objects add dotted paths. */
const MAX_LISTED = 30;
const MAX_DEPTH = 3;

type CheckOptions = Pick<
  ResolvedReaderOptions,
  'source' | 'textColumn' | 'idColumn' | 'requireIdColumn' | 'kept'
>;

/**
 * The JSONL counterpart of a CSV header check. JSONL has no header, so the
 * first `FIELD_CHECK_RECORDS` objects stand in for one: a field the job needs
 * (text, kept, and the id when asked for by name) that none of them has is a
 * typo or a wrong path, not a file of bad records, and fails the file with the
 * fields the records do have, instead of rejecting every record one by one.
 */
export class JsonlFieldCheck {
  readonly #options: CheckOptions;
  readonly #sample: number;
  /** Needed fields not seen yet, with the flag that sets each. */
  readonly #missing = new Map<string, string>();
  readonly #seen = new Set<string>();
  #objects = 0;

  constructor(options: CheckOptions, sample = FIELD_CHECK_RECORDS) {
    this.#options = options;
    this.#sample = sample;
    this.#missing.set(options.textColumn, 'use --text-column');
    for (const { name } of options.kept) this.#missing.set(name, 'check --keep-columns');
    if (options.requireIdColumn) this.#missing.set(options.idColumn, 'check --id-column');
  }

  /** Enough objects have been seen to decide. */
  get decided(): boolean {
    return this.#objects >= this.#sample || this.#missing.size === 0;
  }

  /** Takes note of one record's object. */
  observe(object: Record<string, unknown>): void {
    this.#objects++;
    for (const name of [...this.#missing.keys()]) {
      if (jsonField(object, name) !== undefined) this.#missing.delete(name);
    }
    if (this.#missing.size > 0) this.#list(object, '', 0);
  }

  /**
   * @param ended The file has no more records (fewer than the sample).
   * @throws {InputError} when a needed field was in none of the objects seen (and there was at least one).
   */
  check(ended: boolean): void {
    const first = this.#missing.entries().next();
    if (first.done === true || this.#objects === 0) return;
    const [name, option] = first.value;
    const where = ended ? `any of the ${this.#objects} records` : `the first ${this.#objects} records`;
    const listed = [...this.#seen].join(', ') + (this.#seen.size >= MAX_LISTED ? ', ...' : '');
    throw new InputError(
      `${this.#options.source}: no field ${JSON.stringify(name)} in ${where}; fields are: ${listed} (${option})`,
    );
  }

  #list(object: Record<string, unknown>, prefix: string, depth: number): void {
    for (const [key, value] of Object.entries(object)) {
      if (this.#seen.size >= MAX_LISTED) return;
      const path = prefix + key;
      this.#seen.add(path);
      if (depth + 1 < MAX_DEPTH && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        this.#list(value as Record<string, unknown>, `${path}.`, depth + 1);
      }
    }
  }
}
