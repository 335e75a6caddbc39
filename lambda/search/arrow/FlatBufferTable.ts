/**
 * The few FlatBuffers reads an Arrow IPC file's metadata needs (tables,
 * vectors of tables and of structs, strings, scalars), over a DataView of the
 * whole metadata buffer. Anything out of bounds throws a RangeError, which the
 * caller turns into "not a readable Arrow file".
 */
const decoder = new TextDecoder('utf-8', { fatal: true });

export class FlatBufferTable {
  readonly #view: DataView;
  readonly #at: number;
  readonly #vtable: number;
  readonly #vtableBytes: number;

  private constructor(view: DataView, at: number) {
    this.#view = view;
    this.#at = at;
    this.#vtable = at - view.getInt32(at, true);
    this.#vtableBytes = view.getUint16(this.#vtable, true);
  }

  /** The root table of a FlatBuffer starting at `offset` of `view`. */
  static root(view: DataView, offset = 0): FlatBufferTable {
    return new FlatBufferTable(view, offset + view.getUint32(offset, true));
  }

  /** Where field `index` lies, or undefined when it is absent (its default applies). */
  #field(index: number): number | undefined {
    const slot = 4 + 2 * index;
    if (slot + 2 > this.#vtableBytes) return undefined;
    const relative = this.#view.getUint16(this.#vtable + slot, true);
    return relative === 0 ? undefined : this.#at + relative;
  }

  has(index: number): boolean {
    return this.#field(index) !== undefined;
  }

  uint8(index: number, otherwise = 0): number {
    const at = this.#field(index);
    return at === undefined ? otherwise : this.#view.getUint8(at);
  }

  int16(index: number, otherwise = 0): number {
    const at = this.#field(index);
    return at === undefined ? otherwise : this.#view.getInt16(at, true);
  }

  int32(index: number, otherwise = 0): number {
    const at = this.#field(index);
    return at === undefined ? otherwise : this.#view.getInt32(at, true);
  }

  /** An int64 field as a number; a value past 2^53 throws. */
  int64(index: number, otherwise = 0): number {
    const at = this.#field(index);
    return at === undefined ? otherwise : safe(this.#view.getBigInt64(at, true));
  }

  table(index: number): FlatBufferTable | undefined {
    const at = this.#field(index);
    return at === undefined
      ? undefined
      : new FlatBufferTable(this.#view, at + this.#view.getUint32(at, true));
  }

  string(index: number): string | undefined {
    const at = this.#field(index);
    if (at === undefined) return undefined;
    const start = at + this.#view.getUint32(at, true);
    const length = this.#view.getUint32(start, true);
    const bytes = new Uint8Array(this.#view.buffer, this.#view.byteOffset + start + 4, length);
    if (start + 4 + length > this.#view.byteLength) throw new RangeError('string past the end');
    return decoder.decode(bytes);
  }

  /** A vector of tables. */
  tables(index: number): FlatBufferTable[] {
    const vector = this.#vector(index);
    if (vector === undefined) return [];
    return Array.from({ length: vector.length }, (_, i) => {
      const at = vector.start + 4 * i;
      return new FlatBufferTable(this.#view, at + this.#view.getUint32(at, true));
    });
  }

  /** A vector of structs of `size` bytes: each one's offset in the view, to read with {@link FlatBufferTable.view}. */
  structs(index: number, size: number): number[] {
    const vector = this.#vector(index);
    if (vector === undefined) return [];
    if (vector.start + vector.length * size > this.#view.byteLength)
      throw new RangeError('vector past the end');
    return Array.from({ length: vector.length }, (_, i) => vector.start + size * i);
  }

  /** The view this table reads, for structs. */
  get view(): DataView {
    return this.#view;
  }

  #vector(index: number): { start: number; length: number } | undefined {
    const at = this.#field(index);
    if (at === undefined) return undefined;
    const start = at + this.#view.getUint32(at, true);
    return { start: start + 4, length: this.#view.getUint32(start, true) };
  }
}

/** An int64 as a number; past 2^53 throws. */
export function safe(value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${value} is past 2^53`);
  return n;
}
