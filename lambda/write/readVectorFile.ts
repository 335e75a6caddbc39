import { type Table, tableFromIPC } from 'apache-arrow';
import { InputError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { METADATA_KEYS } from './metadataKeys.ts';
import { decodeParquet } from './parquetWasm.ts';

/** One part file (Parquet or Arrow IPC) read back, with row accessors. */
export interface VectorFile {
  readonly uri: string;
  /** Schema metadata `embedding.model`. */
  readonly model: string;
  /** Vector length, from the column type. */
  readonly dimensions: number;
  readonly rows: number;
  /** The whole schema metadata (`embedding.model`, `embedding.dimensions`, `source.uri`, `created_at`). */
  readonly metadata: ReadonlyMap<string, string>;
  id(row: number): string;
  /** hex sha256 of model + text, as written. */
  contentHash(row: number): string;
  /** The text, or undefined when the file was written without it (`--no-text`). */
  text(row: number): string | undefined;
  /** A view of the row's vector (no copy); do not modify. */
  embedding(row: number): Float32Array;
}

/**
 * Reads one part file written by `PartWriter` (chosen by its `.parquet` or
 * `.arrow` extension) into memory. Parts are bounded, so whole-file reads are;
 * the vectors of every record batch (Parquet row group) are copied into one
 * Float32Array so each row is a cheap `subarray`.
 *
 * @throws InputError when the file is missing or is not an embed-batch part.
 */
export async function readVectorFile(store: ObjectStore, uri: string): Promise<VectorFile> {
  const opened = await store.get(uri);
  const chunks: Uint8Array[] = [];
  for await (const chunk of opened.body) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  let table: Table;
  try {
    table = /\.parquet(\.partial)?$/i.test(uri) ? tableFromIPC(decodeParquet(bytes)) : tableFromIPC(bytes);
  } catch (error) {
    throw new InputError(`${uri}: not a readable Parquet or Arrow file (${(error as Error).message})`, {
      cause: error,
    });
  }
  return vectorFileOf(uri, table);
}

/** Wraps an Arrow table with the part schema in row accessors. */
export function vectorFileOf(uri: string, table: Table): VectorFile {
  const embeddingField = table.schema.fields.find((field) => field.name === 'embedding');
  const listSize = (embeddingField?.type as { listSize?: number } | undefined)?.listSize;
  if (embeddingField === undefined || listSize === undefined || table.getChild('id') === null) {
    throw new InputError(`${uri}: no id and FixedSizeList embedding columns; not an embed-batch part`);
  }
  const dimensions = listSize;
  const floats = new Float32Array(table.numRows * dimensions);
  let at = 0;
  for (const batch of table.batches) {
    const list = batch.getChild('embedding')?.data[0];
    const child = list?.children[0];
    if (list === undefined || child === undefined) continue;
    // Slices carry offsets on both levels; honour them rather than assume zero.
    const start = child.offset + list.offset * dimensions;
    floats.set((child.values as Float32Array).subarray(start, start + list.length * dimensions), at);
    at += list.length * dimensions;
  }
  const ids = table.getChild('id')?.toArray() as string[];
  const texts = table.getChild('text')?.toArray() as string[] | undefined;
  const hashes = table.getChild('content_hash')?.toArray() as string[] | undefined;
  const metadata = table.schema.metadata;
  return {
    uri,
    model: metadata.get(METADATA_KEYS.model) ?? '',
    dimensions,
    rows: table.numRows,
    metadata,
    id: (row) => ids[row] ?? '',
    contentHash: (row) => hashes?.[row] ?? '',
    text: (row) => texts?.[row],
    embedding: (row) => floats.subarray(row * dimensions, (row + 1) * dimensions),
  };
}
