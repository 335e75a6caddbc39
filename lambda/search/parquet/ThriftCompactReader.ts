/**
 * A reader of Thrift's compact protocol, as Parquet uses it for its footer
 * and page headers. Generic: a struct comes back as its fields by field id,
 * so the Parquet layer picks the few fields it needs and ignores the rest
 * (fields added by newer writers included).
 */

/** A decoded Thrift value: numbers (i8 to i64, doubles), booleans, bytes, lists, or a struct. */
export type ThriftValue =
  | number
  | boolean
  | Uint8Array
  | ThriftValue[]
  | ThriftStruct
  | Map<ThriftValue, ThriftValue>;

/** A struct's fields by field id. */
export type ThriftStruct = Map<number, ThriftValue>;

const STOP = 0;
const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const SET = 10;
const MAP = 11;
const STRUCT = 12;

/** Reads compact-protocol values from `bytes`, starting at `offset`; `offset` follows what was read. */
export class ThriftCompactReader {
  offset: number;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  /** One struct, up to and including its STOP byte. */
  readStruct(): ThriftStruct {
    const fields: ThriftStruct = new Map();
    let id = 0;
    for (;;) {
      const header = this.#byte();
      const type = header & 0x0f;
      if (type === STOP) return fields;
      const delta = header >> 4;
      id = delta === 0 ? this.#zigzag(this.#varint()) : id + delta;
      fields.set(id, type === TRUE ? true : type === FALSE ? false : this.#value(type));
    }
  }

  #value(type: number): ThriftValue {
    switch (type) {
      case TRUE:
      case FALSE:
        // Inside lists and maps a boolean is a byte of its own.
        return this.#byte() === TRUE;
      case BYTE:
        return (this.#byte() << 24) >> 24;
      case I16:
      case I32:
      case I64:
        return this.#zigzag(this.#varint());
      case DOUBLE: {
        this.#need(8);
        const value = this.#view.getFloat64(this.offset, true);
        this.offset += 8;
        return value;
      }
      case BINARY: {
        const length = this.#varint();
        this.#need(length);
        const value = this.#bytes.subarray(this.offset, this.offset + length);
        this.offset += length;
        return value;
      }
      case LIST:
      case SET: {
        const header = this.#byte();
        const size = header >> 4 === 15 ? this.#varint() : header >> 4;
        const elementType = header & 0x0f;
        const items: ThriftValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.#value(elementType));
        return items;
      }
      case MAP: {
        const size = this.#varint();
        const map = new Map<ThriftValue, ThriftValue>();
        if (size === 0) return map;
        const types = this.#byte();
        for (let i = 0; i < size; i++) map.set(this.#value(types >> 4), this.#value(types & 0x0f));
        return map;
      }
      case STRUCT:
        return this.readStruct();
      default:
        throw new RangeError(`Unknown Thrift compact type ${type} at byte ${this.offset}`);
    }
  }

  #byte(): number {
    this.#need(1);
    return this.#bytes[this.offset++] ?? 0;
  }

  /** An unsigned varint; exact up to 2^53, which covers every offset and count of a real file. */
  #varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.#byte();
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new RangeError(`A varint longer than 10 bytes at byte ${this.offset}`);
  }

  #zigzag(n: number): number {
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  #need(length: number): void {
    if (this.offset + length > this.#bytes.byteLength) {
      throw new RangeError(`Thrift data ends early: ${length} byte(s) needed at byte ${this.offset}`);
    }
  }
}
