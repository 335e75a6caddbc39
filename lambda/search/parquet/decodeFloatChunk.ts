/**
 * Decodes one column chunk of FLOAT values with no nulls into one flat
 * Float32Array, skipping the repetition and definition levels instead of
 * assembling lists from them: for a fixed-size list column with no null or
 * short list, the values in order are exactly the flat vectors. That is what
 * makes `search` fast: the generic reader spends most of its time on levels.
 *
 * It handles PLAIN and BYTE_STREAM_SPLIT data pages (v1 and v2), uncompressed
 * or ZSTD, which covers what embed-batch writes; anything else returns
 * undefined, and the caller falls back to the generic reader.
 */
import type { ColumnChunkInfo, LeafLevels } from './ParquetFooter.ts';
import { ThriftCompactReader, type ThriftStruct } from './ThriftCompactReader.ts';
import type { Decompress } from './zstdDecompressor.ts';

const FLOAT = 4;
const UNCOMPRESSED = 0;
const ZSTD = 6;
const PLAIN = 0;
const BYTE_STREAM_SPLIT = 9;
const DATA_PAGE = 0;
const DICTIONARY_PAGE = 2;
const DATA_PAGE_V2 = 3;

/** Whether this machine stores floats little-endian, as Parquet does (every common one). */
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** One page of a column chunk, as its header describes it. */
interface Page {
  readonly type: unknown;
  readonly uncompressedSize: number;
  /** The page's bytes after its header (still compressed where the codec says so). */
  readonly data: Uint8Array;
  /** Where `data` starts in the chunk. */
  readonly dataStart: number;
  readonly header: ThriftStruct;
}

/** The pages of a chunk in order; undefined for a header that is not one. */
function* pagesOf(bytes: Uint8Array): Generator<Page | undefined> {
  let at = 0;
  while (at < bytes.byteLength) {
    const reader = new ThriftCompactReader(bytes, at);
    const header = reader.readStruct();
    const uncompressedSize = header.get(2);
    const compressedSize = header.get(3);
    if (typeof compressedSize !== 'number' || typeof uncompressedSize !== 'number') {
      yield undefined;
      return;
    }
    const dataStart = reader.offset;
    at = dataStart + compressedSize;
    yield { type: header.get(1), uncompressedSize, data: bytes.subarray(dataStart, at), dataStart, header };
  }
}

/** Where a v2 page's values start, whether they are compressed, and its null count. */
function v2Layout(page: Page): { levelBytes: number; compressed: boolean; nulls: unknown } {
  const v2 = page.header.get(8) as ThriftStruct | undefined;
  return {
    levelBytes: ((v2?.get(5) as number) ?? 0) + ((v2?.get(6) as number) ?? 0),
    compressed: v2?.get(7) !== false,
    nulls: v2?.get(2),
  };
}

/**
 * The chunk's floats, written into `out` (a view of its first `expected`
 * floats is returned), or undefined when this decoder does not handle the chunk
 * (another type, codec or encoding, a dictionary, nulls): then use a general reader.
 *
 * @param bytes The chunk's bytes (`info.compressedBytes` from `info.start`).
 * @param expected Floats the chunk must hold (rows x dimensions); anything else is refused.
 * @param out Where the floats go; at least `expected` long (reused across chunks by a scan).
 * @param zstd ZSTD decompression (see `zstdDecompressor`).
 */
export function decodeFloatChunk(
  bytes: Uint8Array,
  info: ColumnChunkInfo,
  levels: LeafLevels,
  expected: number,
  out: Float32Array,
  zstd: Decompress,
): Float32Array | undefined {
  if (!LITTLE_ENDIAN || info.type !== FLOAT || info.numValues !== expected) return undefined;
  if (info.codec !== UNCOMPRESSED && info.codec !== ZSTD) return undefined;
  if (out.length < expected)
    throw new RangeError(`Expected \`out\` to hold ${expected} floats, got ${out.length}`);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, expected * 4);
  const outWords = new Int32Array(out.buffer, out.byteOffset, expected);
  let filled = 0;
  for (const page of pagesOf(bytes)) {
    if (filled >= expected) break;
    if (page === undefined || page.type === DICTIONARY_PAGE) return undefined;
    let values: Uint8Array | undefined;
    let count: unknown;
    let encoding: unknown;
    if (page.type === DATA_PAGE) {
      const v1 = page.header.get(5) as ThriftStruct | undefined;
      count = v1?.get(1);
      encoding = v1?.get(2);
      values = skipLevels(inflate(page.data, info.codec, page.uncompressedSize, zstd), levels);
    } else if (page.type === DATA_PAGE_V2) {
      const v2 = page.header.get(8) as ThriftStruct | undefined;
      count = v2?.get(1);
      encoding = v2?.get(4);
      const { levelBytes, compressed, nulls } = v2Layout(page);
      if (nulls !== 0) return undefined;
      const rest = page.data.subarray(levelBytes);
      values = compressed ? inflate(rest, info.codec, page.uncompressedSize - levelBytes, zstd) : rest;
    } else {
      continue; // an index page: nothing of ours
    }
    // Values fewer than level entries mean nulls or empty lists: not flat vectors.
    if (values === undefined || typeof count !== 'number' || values.byteLength !== count * 4)
      return undefined;
    if (filled + count > expected) return undefined;
    if (encoding === PLAIN) {
      outBytes.set(values, filled * 4);
    } else if (encoding === BYTE_STREAM_SPLIT) {
      unsplit(values, count, outWords, filled);
    } else {
      return undefined;
    }
    filled += count;
  }
  return filled === expected ? out.subarray(0, expected) : undefined;
}

function inflate(data: Uint8Array, codec: number, size: number, zstd: Decompress): Uint8Array | undefined {
  if (codec === UNCOMPRESSED) return data;
  // A view the next page's decompression reuses: this page is done with it first.
  return zstd(data, size);
}

/**
 * The values of a v1 data page: each level stream present (repetition first)
 * is RLE with a 4-byte length before it.
 */
function skipLevels(page: Uint8Array | undefined, levels: LeafLevels): Uint8Array | undefined {
  if (page === undefined) return undefined;
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  let at = 0;
  for (const max of [levels.maxRepetition, levels.maxDefinition]) {
    if (max === 0) continue;
    if (at + 4 > page.byteLength) return undefined;
    at += 4 + view.getUint32(at, true);
  }
  return at > page.byteLength ? undefined : page.subarray(at);
}

/** Reused for pages whose values do not start at a multiple of 4 bytes (see {@link unsplit}). */
let aligned = new Uint8Array(0);

/**
 * BYTE_STREAM_SPLIT: byte b of value i is at `b * count + i`. Put back
 * together four values at a time from one 32-bit word of each byte plane
 * (a 4 x 4 byte transpose), which takes about half the time of a byte at a
 * time; that needs the planes at multiples of 4 bytes, so values that start
 * elsewhere are first copied to a buffer that is (a plain copy is cheap).
 */
function unsplit(split: Uint8Array, count: number, out: Int32Array, at: number): void {
  if (count % 4 !== 0) {
    unsplitBytes(split, count, out, at);
    return;
  }
  let source = split;
  if (split.byteOffset % 4 !== 0) {
    if (aligned.byteLength < split.byteLength) aligned = new Uint8Array(split.byteLength);
    aligned.set(split);
    source = aligned;
  }
  const quarter = count >> 2;
  const planes = new Int32Array(source.buffer, source.byteOffset, count);
  for (let j = 0, i = at; j < quarter; j++, i += 4) {
    const w0 = planes[j] as number;
    const w1 = planes[quarter + j] as number;
    const w2 = planes[2 * quarter + j] as number;
    const w3 = planes[3 * quarter + j] as number;
    out[i] = (w0 & 0xff) | ((w1 & 0xff) << 8) | ((w2 & 0xff) << 16) | (w3 << 24);
    out[i + 1] = ((w0 >>> 8) & 0xff) | (w1 & 0xff00) | ((w2 & 0xff00) << 8) | ((w3 & 0xff00) << 16);
    out[i + 2] = ((w0 >>> 16) & 0xff) | ((w1 >>> 8) & 0xff00) | (w2 & 0xff0000) | ((w3 & 0xff0000) << 8);
    out[i + 3] = (w0 >>> 24) | ((w1 >>> 16) & 0xff00) | ((w2 >>> 8) & 0xff0000) | (w3 & 0xff000000);
  }
}

/** The same a byte at a time, for any count and alignment. */
function unsplitBytes(split: Uint8Array, count: number, out: Int32Array, at: number): void {
  const b1 = count;
  const b2 = 2 * count;
  const b3 = 3 * count;
  for (let i = 0; i < count; i++) {
    // Signed words keep every value a small integer for V8 (unsigned ones above 2^31 would not be).
    out[at + i] =
      (split[i] as number) |
      ((split[b1 + i] as number) << 8) |
      ((split[b2 + i] as number) << 16) |
      ((split[b3 + i] as number) << 24);
  }
}
