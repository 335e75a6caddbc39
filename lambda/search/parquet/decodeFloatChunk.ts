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
  let at = 0;
  while (at < bytes.byteLength && filled < expected) {
    const reader = new ThriftCompactReader(bytes, at);
    const header = reader.readStruct();
    const type = header.get(1);
    const uncompressedSize = header.get(2);
    const compressedSize = header.get(3);
    if (typeof compressedSize !== 'number' || typeof uncompressedSize !== 'number') return undefined;
    const dataStart = reader.offset;
    const data = bytes.subarray(dataStart, dataStart + compressedSize);
    at = dataStart + compressedSize;
    if (type === DICTIONARY_PAGE) return undefined;
    let values: Uint8Array | undefined;
    let count: number;
    let encoding: unknown;
    if (type === DATA_PAGE) {
      const page = header.get(5) as ThriftStruct | undefined;
      count = page?.get(1) as number;
      encoding = page?.get(2);
      const plain = inflate(data, info.codec, uncompressedSize, zstd);
      values = skipLevels(plain, levels);
    } else if (type === DATA_PAGE_V2) {
      const page = header.get(8) as ThriftStruct | undefined;
      count = page?.get(1) as number;
      encoding = page?.get(4);
      if (page?.get(2) !== 0) return undefined; // nulls
      const levelBytes = ((page?.get(5) as number) ?? 0) + ((page?.get(6) as number) ?? 0);
      const compressed = page?.get(7) !== false;
      const rest = data.subarray(levelBytes);
      values = compressed ? inflate(rest, info.codec, uncompressedSize - levelBytes, zstd) : rest;
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
  const out = zstd(data, size);
  return out.byteLength === size ? out : undefined;
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

/**
 * BYTE_STREAM_SPLIT: byte b of value i is at `b * count + i`. Each value is put
 * together as one little-endian 32-bit word (four byte stores are slower).
 */
function unsplit(split: Uint8Array, count: number, out: Int32Array, at: number): void {
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
