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
import { canInflate, dataPageOf, inflatePage, PAGE_TYPE, pagesOf } from './pageHeaders.ts';
import type { Decompress } from './zstdDecompressor.ts';

const FLOAT = 4;
const PLAIN = 0;
const BYTE_STREAM_SPLIT = 9;

/** Whether this machine stores floats little-endian, as Parquet does (every common one). */
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

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
  if (!canInflate(info.codec)) return false;
  let filled = 0;
  for (const page of pagesOf(bytes)) {
    if (filled >= expected) break;
    if (page === undefined || page.type === PAGE_TYPE.dictionary) return false;
    if (page.type !== PAGE_TYPE.data && page.type !== PAGE_TYPE.dataV2) continue; // an index page: nothing of ours
    const header = dataPageOf(page);
    if (header === undefined) return false;
    let values: Uint8Array | undefined;
    if (header.version === 1) {
      values = skipLevels(inflatePage(page.data, info.codec, page.uncompressedSize, zstd), levels);
    } else {
      if (header.nulls !== 0) return false;
      const levelBytes = header.repetitionBytes + header.definitionBytes;
      const rest = page.data.subarray(levelBytes);
      values = header.compressed
        ? inflatePage(rest, info.codec, page.uncompressedSize - levelBytes, zstd)
        : rest;
    }
    const count = header.numValues;
    // Values fewer than level entries mean nulls or empty lists: not flat vectors.
    if (values === undefined || values.byteLength !== count * 4) return false;
    if (filled + count > expected) return false;
    if (header.encoding === PLAIN) {
      kernel.putFloats(values, filled);
    } else if (header.encoding === BYTE_STREAM_SPLIT) {
      kernel.unsplit(values, count, filled);
    } else {
      return false;
    }
    filled += count;
  }
  return filled === expected;
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
