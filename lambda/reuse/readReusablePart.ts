/**
 * What a reuse lookup needs of an earlier part: each row's content hash and
 * vector, and nothing else. Of a Parquet part only those two columns are
 * decoded, the vectors by the search's reader (straight from the pages into
 * the kernel, no list levels assembled), which takes a part in a tenth of the
 * time parquet-wasm takes to decode it whole (BENCHMARKS.md, section 9).
 */
import { VectorKernel } from '../search/kernel/VectorKernel.ts';
import { openParquetPart } from '../search/parquet/ParquetVectorPart.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { isParquetPart, readContentHashes, readVectorFile } from '../write/readVectorFile.ts';

/** An earlier part's rows, for lookups by content hash. */
export interface ReusablePart {
  readonly rows: number;
  /** hex sha256 of model + text, as written; '' for a part written without hashes. */
  contentHash(row: number): string;
  /** A view of the row's vector (no copy); do not modify. */
  embedding(row: number): Float32Array;
}

/**
 * Reads the hashes and vectors of one part (`.parquet`, or `.arrow` read whole).
 *
 * @throws InputError when the file is missing or is not an embed-batch part.
 */
export async function readReusablePart(store: ObjectStore, uri: string): Promise<ReusablePart> {
  if (!isParquetPart(uri)) return readVectorFile(store, uri);
  const [hashes, part, kernel] = await Promise.all([
    readContentHashes(store, uri),
    openParquetPart(store, uri),
    // A kernel of its own: two parts read at once must not decode into one batch.
    VectorKernel.load(),
  ]);
  const { dimensions } = part;
  const floats = new Float32Array(part.rows * dimensions);
  let at = 0;
  for await (const batch of part.batches(kernel)) {
    const length = batch.rows * dimensions;
    floats.set(batch.values.subarray(batch.offset, batch.offset + length), at);
    at += length;
  }
  return {
    rows: part.rows,
    contentHash: (row) => hashes[row] ?? '',
    embedding: (row) => floats.subarray(row * dimensions, (row + 1) * dimensions),
  };
}
