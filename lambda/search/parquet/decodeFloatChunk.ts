/**
 * Decodes one column chunk of FLOAT values with no nulls into the search
 * kernel's batch of vectors, skipping the repetition and definition levels instead of
 * assembling lists from them: for a fixed-size list column with no null or
 * short list, the values in order are exactly the flat vectors. That is what
 * makes `search` fast: the generic reader spends most of its time on levels.
 *
 * It handles PLAIN and BYTE_STREAM_SPLIT data pages (v1 and v2), uncompressed
 * or ZSTD, which covers what embed-batch writes; anything else returns
 * undefined, and the caller falls back to the generic reader.
 */
import type { VectorKernel } from '../kernel/VectorKernel.ts';
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
 * Decodes the chunk's floats into the kernel's batch, which the caller has
 * prepared for them (`kernel.prepare(rows, dimensions)`), and says whether it
 * could: false when this decoder does not handle the chunk (another type,
 * codec or encoding, a dictionary, nulls), and then use a general reader.
 *
 * @param bytes The chunk's bytes (`info.compressedBytes` from `info.start`).
 * @param expected Floats the chunk must hold (rows x dimensions); anything else is refused.
 * @param zstd ZSTD decompression (see `zstdDecompressor`).
 */
export function decodeFloatChunk(
  bytes: Uint8Array,
  info: ColumnChunkInfo,
  levels: LeafLevels,
  expected: number,
  kernel: VectorKernel,
  zstd: Decompress,
): boolean {
  if (!LITTLE_ENDIAN || info.type !== FLOAT || info.numValues !== expected) return false;
  if (info.codec !== UNCOMPRESSED && info.codec !== ZSTD) return false;
  let filled = 0;
  for (const page of pagesOf(bytes)) {
    if (filled >= expected) break;
    if (page === undefined || page.type === DICTIONARY_PAGE) return false;
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
      if (nulls !== 0) return false;
      const rest = page.data.subarray(levelBytes);
      values = compressed ? inflate(rest, info.codec, page.uncompressedSize - levelBytes, zstd) : rest;
    } else {
      continue; // an index page: nothing of ours
    }
    // Values fewer than level entries mean nulls or empty lists: not flat vectors.
    if (values === undefined || typeof count !== 'number' || values.byteLength !== count * 4) return false;
    if (filled + count > expected) return false;
    if (encoding === PLAIN) {
      kernel.putFloats(values, filled);
    } else if (encoding === BYTE_STREAM_SPLIT) {
      kernel.unsplit(values, count, filled);
    } else {
      return false;
    }
    filled += count;
  }
  return filled === expected;
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
