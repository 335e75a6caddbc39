import { type Table, tableFromIPC } from 'apache-arrow';
import { InputError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { blobOf, readAll } from '../store/readBytes.ts';
import { METADATA_KEYS } from './metadataKeys.ts';
import { decodeParquet, openParquetColumns } from './parquetWasm.ts';

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
  const bytes = await readAll(store, uri);
  let table: Table;
  try {
    table = isParquetPart(uri) ? tableFromIPC(decodeParquet(bytes)) : tableFromIPC(bytes);
  } catch (error) {
    throw notReadable(uri, error);
  }
  return vectorFileOf(uri, table);
}

/**
 * The `content_hash` of every row of a part file, in row order, without its
 * vectors or texts: of a Parquet part only that column is decoded (read by
 * range where the store can), a few percent of what {@link readVectorFile}
 * costs. An Arrow part is read whole (its columns need no decoding). Empty for
 * a part written without hashes.
 *
 * @throws InputError when the file is missing or is not an embed-batch part.
 */
export async function readContentHashes(store: ObjectStore, uri: string): Promise<string[]> {
  let table: Table;
  try {
    if (isParquetPart(uri)) {
      const reader = await openParquetColumns(await blobOf(store, uri));
      try {
        if (!reader.has('id') || !reader.has('embedding')) throw notAPart(uri);
        if (!reader.has('content_hash')) return [];
        table = tableFromIPC(await reader.read(undefined, ['content_hash']));
      } finally {
        reader.close();
      }
    } else {
      table = tableFromIPC(await readAll(store, uri));
      if (table.getChild('id') === null || table.getChild('embedding') === null) throw notAPart(uri);
    }
  } catch (error) {
    throw error instanceof InputError ? error : notReadable(uri, error);
  }
  return (table.getChild('content_hash')?.toArray() as string[] | undefined) ?? [];
}

/** Wraps an Arrow table with the part schema in row accessors. */
export function vectorFileOf(uri: string, table: Table): VectorFile {
  const embeddingField = table.schema.fields.find((field) => field.name === 'embedding');
  const listSize = (embeddingField?.type as { listSize?: number } | undefined)?.listSize;
  if (embeddingField === undefined || listSize === undefined || table.getChild('id') === null) {
    throw notAPart(uri);
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

/** Whether a part file is Parquet (`.parquet`, or one still being written); else Arrow IPC. */
export function isParquetPart(uri: string): boolean {
  return /\.parquet(\.partial)?$/i.test(uri);
}

function notAPart(uri: string): InputError {
  return new InputError(`${uri}: no id and FixedSizeList embedding columns; not an embed-batch part`);
}

function notReadable(uri: string, error: unknown): InputError {
  return new InputError(`${uri}: not a readable Parquet or Arrow file (${(error as Error).message})`, {
    cause: error,
  });
}
