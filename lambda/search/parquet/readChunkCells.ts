/**
 * Reads a few cells of one flat column chunk: the pages that hold the wanted
 * rows are decompressed and decoded, the others are stepped over by their
 * headers. A search wants about ten rows of a part; decoding whole row groups
 * of their text for them (what parquet-wasm does) costs far more.
 *
 * It handles the flat columns embed-batch writes (all but the vector and
 * List<Utf8> kept columns): top-level, not repeated, nullable or not Utf8,
 * Float64, Int64 and Bool columns, in
 * PLAIN or dictionary-encoded (and for booleans RLE) v1 and v2 data pages,
 * uncompressed or ZSTD. Anything else returns undefined, and the caller reads
 * that column by a general reader.
 */
import { plainValue } from '../VectorPart.ts';
import { decodeRleHybrid } from './decodeRleHybrid.ts';
import type { ColumnChunkInfo, LeafColumn } from './ParquetFooter.ts';
import {
  CODEC,
  canInflate,
  type DataPage,
  dataPageOf,
  dictionaryPageOf,
  inflatePage,
  type Page,
  pagesOf,
} from './pageHeaders.ts';
import type { Decompress } from './zstdDecompressor.ts';

/** The kinds of cells read here, by the Arrow type parquet-wasm reads them as. */
export type CellKind = 'utf8' | 'float64' | 'int64' | 'bool';

// parquet.thrift `Type`, `ConvertedType`, `LogicalType` member, `CompressionCodec` and `Encoding`.
const BOOLEAN = 0;
const INT64 = 2;
const DOUBLE = 5;
const BYTE_ARRAY = 6;
const UTF8 = 0;
const INT_64 = 18;
const STRING = 1;
const INTEGER = 10;
const PLAIN = 0;
const PLAIN_DICTIONARY = 2;
const RLE = 3;
const RLE_DICTIONARY = 8;

const decoder = new TextDecoder();

/**
 * The kind of a leaf's cells, or undefined when this reader does not handle
 * it: a nested or repeated column, or a type whose cells parquet-wasm reads
 * as anything but a string, a double, a 64-bit signed integer or a boolean
 * (a timestamp, a decimal, an unsigned integer, bytes...).
 *
 * @param path The leaf's dotted path: a top-level column's is its name.
 */
export function cellKindOf(path: string, leaf: LeafColumn): CellKind | undefined {
  if (path.includes('.') || leaf.maxRepetition !== 0 || leaf.maxDefinition > 1) return undefined;
  const { type, convertedType, logicalType } = leaf;
  switch (type) {
    case BYTE_ARRAY:
      if (logicalType !== undefined) return logicalType.kind === STRING ? 'utf8' : undefined;
      return convertedType === UTF8 ? 'utf8' : undefined;
    case INT64:
      if (logicalType !== undefined) {
        const signed64 = logicalType.kind === INTEGER && logicalType.bitWidth === 64 && logicalType.signed;
        return signed64 ? 'int64' : undefined;
      }
      return convertedType === undefined || convertedType === INT_64 ? 'int64' : undefined;
    case DOUBLE:
      return logicalType === undefined && convertedType === undefined ? 'float64' : undefined;
    case BOOLEAN:
      return logicalType === undefined && convertedType === undefined ? 'bool' : undefined;
    default:
      return undefined;
  }
}

/** Whether {@link readChunkCells} can read the chunk at all (kind and codec); if not, skip reading it. */
export function canReadCells(chunk: ColumnChunkInfo, leaf: LeafColumn): boolean {
  return cellKindOf(chunk.path, leaf) !== undefined && canInflate(chunk.codec);
}

/**
 * Some cells of a column chunk, as plain JSON values: exactly what
 * `plainValue` makes of what parquet-wasm reads (strings, numbers, booleans,
 * null; an Int64 as a number, or a string past 2^53). Undefined when this
 * reader does not handle the chunk (see {@link cellKindOf}; another codec or
 * encoding), or cannot make sense of it, or the chunk holds fewer rows: the
 * caller then reads the column by a general reader, which reports a broken
 * file in its own words.
 *
 * @param bytes The chunk's bytes (`chunk.compressedBytes` from `chunk.start`).
 * @param leaf The chunk's leaf in the schema (`ParquetFooter.leaves`).
 * @param rows Row indexes in the row group, ascending; the cells come back in that order.
 * @param zstd ZSTD decompression (see `zstdDecompressor`).
 * @throws RangeError when `rows` are not ascending non-negative integers.
 */
export function readChunkCells(
  bytes: Uint8Array,
  chunk: ColumnChunkInfo,
  leaf: LeafColumn,
  rows: readonly number[],
  zstd: Decompress,
): unknown[] | undefined {
  rows.forEach((row, i) => {
    if (!Number.isSafeInteger(row) || row < 0 || (i > 0 && row < (rows[i - 1] as number))) {
      throw new RangeError(`Expected \`rows\` to be ascending row indexes, got ${row} at ${i}`);
    }
  });
  const kind = cellKindOf(chunk.path, leaf);
  if (kind === undefined || !canReadCells(chunk, leaf)) return undefined;
  const cells: unknown[] = [];
  try {
    let firstRow = 0;
    let dictionaryPage: Page | undefined;
    let dictionary: PlainValues | undefined;
    for (const page of pagesOf(bytes)) {
      if (cells.length === rows.length) break;
      if (page === undefined) return undefined;
      if (dictionaryPageOf(page) !== undefined) {
        // Decoded only if a page that holds a wanted row refers to it.
        dictionaryPage = page;
        dictionary = undefined;
        continue;
      }
      const header = dataPageOf(page);
      if (header === undefined) continue; // an index page, or one of a kind unknown here: no rows
      const end = firstRow + header.numRows;
      const wanted: number[] = [];
      for (let i = cells.length; i < rows.length && (rows[i] as number) < end; i++) {
        wanted.push((rows[i] as number) - firstRow);
      }
      firstRow = end;
      if (wanted.length === 0) continue;
      const dictionaryEncoded = header.encoding === PLAIN_DICTIONARY || header.encoding === RLE_DICTIONARY;
      if (dictionaryEncoded && dictionary === undefined) {
        if (dictionaryPage === undefined) return undefined;
        dictionary = readDictionary(dictionaryPage, kind, chunk.codec, zstd);
        if (dictionary === undefined) return undefined;
      }
      const found = pageCells(page, header, wanted, { kind, leaf, codec: chunk.codec, zstd, dictionary });
      if (found === undefined) return undefined;
      cells.push(...found);
    }
  } catch (error) {
    // Data that ends early or holds what no writer writes: not ours to judge.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  return cells.length === rows.length ? cells : undefined;
}

/** What decoding a page needs besides the page. */
interface PageContext {
  readonly kind: CellKind;
  readonly leaf: LeafColumn;
  readonly codec: number;
  readonly zstd: Decompress;
  readonly dictionary: PlainValues | undefined;
}

/**
 * The cells at `wanted` (ascending indexes of rows in the page), from the
 * page decompressed whole, or for a PLAIN v1 page only as far as they lie.
 */
function pageCells(
  page: Page,
  header: DataPage,
  wanted: number[],
  context: PageContext,
): unknown[] | undefined {
  const { codec, zstd } = context;
  if (header.version !== 1) return v2PageCells(page, header, wanted, context);
  // Levels and values are compressed together. The bytes may be reused by the next decompression: read them now.
  if (codec !== CODEC.zstd || header.encoding !== PLAIN) {
    const whole = inflatePage(page.data, codec, page.uncompressedSize, zstd);
    return whole === undefined ? undefined : v1PageCells(whole, header, wanted, context);
  }
  // A PLAIN page is decoded only as far as its last wanted value: a guess from that row's place in the
  // page, then twice as far each time the values run past what was decoded.
  const size = page.uncompressedSize;
  const frame = zstd.partial(page.data, size);
  const last = wanted[wanted.length - 1] as number;
  let bytes = Math.ceil((size * (last + 1)) / Math.max(1, header.numRows) + PREFIX_MARGIN);
  for (;;) {
    const prefix = frame.upTo(bytes);
    if (prefix === undefined) return undefined;
    try {
      return v1PageCells(prefix, header, wanted, context);
    } catch (error) {
      if (!(error instanceof RangeError) || prefix.byteLength >= size) throw error;
      bytes = 2 * prefix.byteLength;
    }
  }
}

/** What a PLAIN page's prefix holds beyond its estimate: the last wanted value may be long. */
const PREFIX_MARGIN = 16 * 1024;

/** The cells of a v1 data page, from its decompressed bytes (or their first part: past it throws RangeError). */
function v1PageCells(
  bytes: Uint8Array,
  header: DataPage,
  wanted: number[],
  context: PageContext,
): unknown[] | undefined {
  const last = wanted[wanted.length - 1] as number;
  let values = bytes;
  let levels: Uint32Array | undefined;
  if (context.leaf.maxDefinition > 0) {
    if (header.definitionEncoding !== RLE) return undefined;
    const length = littleEndianU32(bytes, 0);
    levels = decodeRleHybrid(slice(bytes, 4, length), 1, last + 1);
    values = bytes.subarray(4 + length);
  }
  return cellsAt(values, levels, header, wanted, context);
}

/** The cells of a v2 data page, whose levels are stored uncompressed before its values. */
function v2PageCells(
  page: Page,
  header: DataPage,
  wanted: number[],
  context: PageContext,
): unknown[] | undefined {
  const { leaf, codec, zstd } = context;
  const last = wanted[wanted.length - 1] as number;
  if (header.repetitionBytes !== 0) return undefined;
  let levels: Uint32Array | undefined;
  if (leaf.maxDefinition > 0) {
    levels = decodeRleHybrid(slice(page.data, 0, header.definitionBytes), 1, last + 1);
  }
  const rest = page.data.subarray(header.definitionBytes);
  const size = page.uncompressedSize - header.definitionBytes;
  const values = header.compressed ? inflatePage(rest, codec, size, zstd) : rest;
  if (values === undefined) return undefined;
  return cellsAt(values, levels, header, wanted, context);
}

/**
 * The cells at `wanted` (ascending indexes of rows in the page): definition
 * levels (when the column has them) say which are null and where each other's
 * value is among the page's values, which are then decoded up to the last one wanted.
 */
function cellsAt(
  values: Uint8Array,
  levels: Uint32Array | undefined,
  header: DataPage,
  wanted: number[],
  context: PageContext,
): unknown[] | undefined {
  const last = wanted[wanted.length - 1] as number;
  // Index of each wanted cell among the page's values; -1 for a null.
  const indexes: number[] = [];
  if (levels === undefined) {
    indexes.push(...wanted);
  } else {
    let defined = 0;
    let next = 0;
    for (let row = 0; row <= last; row++) {
      const present = levels[row] === 1;
      if (row === wanted[next]) {
        // The same row may be asked twice.
        while (row === wanted[next]) {
          indexes.push(present ? defined : -1);
          next++;
        }
      }
      if (present) defined++;
    }
  }
  const valueAt = pageValues(values, header.encoding, context.kind, context.dictionary, indexes);
  if (valueAt === undefined) return undefined;
  return indexes.map((index) => (index < 0 ? null : valueAt(index)));
}

/** The page's value at an index, for the page's value encoding; undefined for an encoding not handled. */
function pageValues(
  values: Uint8Array,
  encoding: unknown,
  kind: CellKind,
  dictionary: PlainValues | undefined,
  indexes: readonly number[],
): ((index: number) => unknown) | undefined {
  if (encoding === PLAIN) {
    const plain = new PlainValues(values, kind);
    return (index) => plain.at(index);
  }
  const count = Math.max(-1, ...indexes) + 1;
  if (encoding === PLAIN_DICTIONARY || encoding === RLE_DICTIONARY) {
    if (dictionary === undefined) return undefined;
    // Only nulls wanted: no index is read (a page of nulls may hold none).
    if (count === 0) return () => null;
    // One byte of index width, then the indexes, with no length before them.
    const keys = decodeRleHybrid(values.subarray(1), values[0] as number, count);
    return (index) => dictionary.at(keys[index] as number);
  }
  if (encoding === RLE && kind === 'bool') {
    const bits = decodeRleHybrid(slice(values, 4, littleEndianU32(values, 0)), 1, count);
    return (index) => bits[index] === 1;
  }
  return undefined;
}

/** The values of a dictionary page, copied out of the decompressor's reused buffer. */
function readDictionary(
  page: Page,
  kind: CellKind,
  codec: number,
  zstd: Decompress,
): PlainValues | undefined {
  const header = dictionaryPageOf(page);
  if (header === undefined || (header.encoding !== PLAIN && header.encoding !== PLAIN_DICTIONARY)) {
    return undefined;
  }
  const inflated = inflatePage(page.data, codec, page.uncompressedSize, zstd);
  if (inflated === undefined) return undefined;
  return new PlainValues(codec === CODEC.uncompressed ? inflated : inflated.slice(), kind, header.numValues);
}

/**
 * PLAIN values, by index: fixed-width kinds at `index x width`; strings
 * (each a 4-byte length and its bytes) found by walking their lengths, once,
 * as far as the highest index asked.
 */
class PlainValues {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #kind: CellKind;
  readonly #count: number;
  /** Utf8: where each value's length is, as far as walked. */
  readonly #starts: number[] = [0];

  constructor(bytes: Uint8Array, kind: CellKind, count = Number.POSITIVE_INFINITY) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#kind = kind;
    this.#count = count;
  }

  /** @throws RangeError past the values. */
  at(index: number): unknown {
    if (index >= this.#count) throw new RangeError(`Value ${index} of ${this.#count}`);
    switch (this.#kind) {
      case 'float64':
        return this.#view.getFloat64(index * 8, true);
      case 'int64':
        return plainValue(this.#view.getBigInt64(index * 8, true));
      case 'bool': {
        const byte = this.#bytes[index >> 3];
        if (byte === undefined) throw new RangeError(`Boolean ${index} past the page's end`);
        return ((byte >> (index & 7)) & 1) === 1;
      }
      case 'utf8': {
        const starts = this.#starts;
        while (starts.length <= index) {
          const start = starts[starts.length - 1] as number;
          starts.push(start + 4 + littleEndianU32(this.#bytes, start));
        }
        const start = starts[index] as number;
        return decoder.decode(slice(this.#bytes, start + 4, littleEndianU32(this.#bytes, start)));
      }
    }
  }
}

/** `length` bytes from `start`; unlike `subarray`, throws instead of returning fewer. */
function slice(bytes: Uint8Array, start: number, length: number): Uint8Array {
  if (start + length > bytes.byteLength) {
    throw new RangeError(`${length} bytes at ${start} past the end (${bytes.byteLength})`);
  }
  return bytes.subarray(start, start + length);
}

function littleEndianU32(bytes: Uint8Array, at: number): number {
  const word = slice(bytes, at, 4);
  return (
    (word[0] as number) +
    (word[1] as number) * 2 ** 8 +
    (word[2] as number) * 2 ** 16 +
    (word[3] as number) * 2 ** 24
  );
}
