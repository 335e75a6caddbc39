import type { Table } from 'apache-arrow';
import { InputError } from '../../errors.ts';
import type { ObjectStore } from '../../store/ObjectStore.ts';
import { blobOf, readRange } from '../../store/readBytes.ts';
import { METADATA_KEYS } from '../../write/metadataKeys.ts';
import type { ParquetColumnsReader } from '../../write/parquetWasm.ts';
import type { VectorKernel } from '../kernel/VectorKernel.ts';
import { ReadBuffers } from '../ReadBuffers.ts';
import {
  plainValue,
  type RowAddress,
  type RowColumns,
  UNRETURNED_COLUMNS,
  type VectorBatch,
  type VectorPart,
} from '../VectorPart.ts';
import { decodeFloatChunk } from './decodeFloatChunk.ts';
import {
  type ColumnChunkInfo,
  FOOTER_TAIL_BYTES,
  footerLength,
  type ParquetFooter,
  parseFooter,
} from './ParquetFooter.ts';
import { type GroupCells, readGroupCells } from './readGroupCells.ts';
import { zstdDecompressor } from './zstdDecompressor.ts';

/** Bytes read from the end at first: the footer of an embed-batch part is a few KB. */
const TAIL_GUESS = 64 * 1024;
const EMBEDDING_LEAF = /^embedding(\.|$)/;

/**
 * A Parquet part for a search. The scan reads only the `embedding` column
 * chunks, one row group at a time, by byte range (a ranged GET on S3), and
 * decodes them with {@link decodeFloatChunk} into the search kernel's memory; a chunk that decoder does not
 * handle goes through parquet-wasm instead. The winners' other columns are
 * read afterwards, only for the row groups that hold them.
 *
 * @param buffers The scan's read buffers, handed on from part to part.
 */
export async function openParquetPart(
  store: ObjectStore,
  uri: string,
  buffers: ReadBuffers = new ReadBuffers(),
): Promise<VectorPart> {
  const size = (await store.head(uri))?.bytes;
  if (size === undefined) throw new InputError(`no such file or object: ${uri}`);
  // One positioned read per range locally, a ranged GET on S3.
  const read: RangeRead = (start, length, into) => readRange(store, uri, start, length, into);
  const footer = await readFooter(read, uri, size);
  const leaf = [...footer.leaves.keys()].find((path) => EMBEDDING_LEAF.test(path));
  const levels = leaf === undefined ? undefined : footer.leaves.get(leaf);
  const dimensions = dimensionsOf(footer, leaf);
  if (leaf === undefined || levels === undefined || dimensions === undefined || !footer.leaves.has('id')) {
    throw new InputError(`${uri}: no id and embedding columns; not an embed-batch part`);
  }
  const topColumns = [...new Set([...footer.leaves.keys()].map((path) => path.split('.')[0] ?? path))];
  let whole: Blob | undefined;
  const blob = async (): Promise<Blob> => {
    whole ??= await blobOf(store, uri);
    return whole;
  };
  const groups = footer.rowGroups
    .map((rowGroup, group) => ({
      group,
      rows: rowGroup.rows,
      chunk: rowGroup.columns.find((c) => c.path === leaf),
    }))
    .filter((g) => g.rows > 0);
  // A part is opened just before its scan (the search opens the next while it scans one): its first
  // row group's vectors are read from now on, and the decompressor made ready, so the scan need not wait.
  const zstdReady = zstdDecompressor();
  // A read into one of the scan's buffers, which goes back to it once the group is decoded.
  const readInto = (length: number, start: number): { buffer: Uint8Array; bytes: Promise<Uint8Array> } => {
    const buffer = buffers.take(length);
    return { buffer, bytes: read(start, length, buffer) };
  };
  const head = groups[0]?.chunk;
  let prefetched = head === undefined ? undefined : readInto(head.compressedBytes, head.start);
  prefetched?.bytes.catch(() => undefined);
  zstdReady.catch(() => undefined);

  return {
    uri,
    model: footer.metadata.get(METADATA_KEYS.model) ?? '',
    dimensions,
    rows: footer.rows,
    async *batches(kernel: VectorKernel): AsyncGenerator<VectorBatch> {
      const zstd = await zstdReady;
      const readGroup = (g: (typeof groups)[number] | undefined): ReturnType<typeof readInto> | undefined => {
        if (g === undefined) return undefined;
        if (g.chunk === undefined)
          throw new InputError(`${uri}: row group ${g.group} has no embedding column`);
        return readInto(g.chunk.compressedBytes, g.chunk.start);
      };
      // One group is decoded while the next one is read. The floats go straight into the kernel's
      // memory, where the scan scores them.
      let next = prefetched ?? readGroup(groups[0]);
      prefetched = undefined;
      for (const [i, g] of groups.entries()) {
        const reading = next as NonNullable<typeof next>;
        const bytes = await reading.bytes;
        next = readGroup(groups[i + 1]);
        // Keeps a read that fails while this group is scored from counting as unhandled; it is awaited next.
        next?.bytes.catch(() => undefined);
        const expected = g.rows * dimensions;
        kernel.prepare(g.rows, dimensions);
        const decoded = decodeFloatChunk(bytes, g.chunk as ColumnChunkInfo, levels, expected, kernel, zstd);
        buffers.give(reading.buffer);
        const values = decoded ? kernel.vectors() : await decodeGeneric(await blob(), g.group, expected, uri);
        yield { group: g.group, rows: g.rows, values, offset: 0 };
      }
    },
    async columnsOf(rows: readonly RowAddress[]): Promise<RowColumns[]> {
      const wanted = topColumns.filter((name) => !UNRETURNED_COLUMNS.has(name));
      const zstd = await zstdDecompressor();
      // The wanted rows' cells are read from the pages that hold them (readGroupCells); parquet-wasm,
      // which decodes whole row groups, only for the columns that declines (lists, other types).
      let reader: ParquetColumnsReader | undefined;
      try {
        const found = new Map<RowAddress, RowColumns>();
        const groups = [...new Set(rows.map((r) => r.group))].map((group) => {
          const addresses = rows.filter((r) => r.group === group);
          const indexes = [...new Set(addresses.map((r) => r.row))].sort((a, b) => a - b);
          return { group, addresses, indexes };
        });
        // Every group's pages are read at once (on S3, round trips in parallel, not one after another).
        const groupCells = await Promise.all(
          groups.map(({ group, indexes }) => readGroupCells(read, footer, group, wanted, indexes, zstd)),
        );
        for (const [i, { group, addresses, indexes }] of groups.entries()) {
          const { cells, declined } = groupCells[i] as GroupCells;
          let table: Table | undefined;
          if (declined.length > 0) {
            const general = await generalReader();
            reader ??= await general.openParquetColumns(await blob());
            table = general.tableFromIPC(await reader.read([group], declined));
          }
          const position = new Map(indexes.map((row, i) => [row, i]));
          for (const address of addresses) {
            const at = position.get(address.row) as number;
            const row: Record<string, unknown> = {};
            for (const name of wanted) {
              const column = cells.get(name);
              row[name] =
                column !== undefined ? column[at] : plainValue(table?.getChild(name)?.get(address.row));
            }
            found.set(address, row);
          }
        }
        return rows.map((address) => found.get(address) ?? {});
      } finally {
        reader?.close();
      }
    },
  };
}

/** `length` bytes from `start`, into `into` where the store can. */
type RangeRead = (start: number, length: number, into?: Uint8Array) => Promise<Uint8Array>;

async function readFooter(read: RangeRead, uri: string, size: number): Promise<ParquetFooter> {
  try {
    const tailStart = Math.max(0, size - TAIL_GUESS);
    let tail = await read(tailStart, size - tailStart);
    const length = footerLength(tail);
    const footerStart = size - FOOTER_TAIL_BYTES - length;
    if (footerStart < 0) throw new RangeError(`a footer of ${length} bytes in a file of ${size}`);
    if (footerStart < tailStart) tail = await read(footerStart, length + FOOTER_TAIL_BYTES);
    const from = tail.byteLength - FOOTER_TAIL_BYTES - length;
    return parseFooter(tail.subarray(from, from + length));
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${uri}: not a readable Parquet file (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/** `embedding.dimensions` as written, else what the first row group's value count says. */
function dimensionsOf(footer: ParquetFooter, leaf: string | undefined): number | undefined {
  const stated = Number(footer.metadata.get(METADATA_KEYS.dimensions));
  if (Number.isSafeInteger(stated) && stated > 0) return stated;
  const group = footer.rowGroups.find((g) => g.rows > 0);
  const chunk = group?.columns.find((column) => column.path === leaf);
  if (group === undefined || chunk === undefined || chunk.numValues % group.rows !== 0) return undefined;
  return chunk.numValues / group.rows;
}

/** The general path: parquet-wasm decodes the row group's embedding column, lists and all. */
async function decodeGeneric(
  file: Blob,
  group: number,
  expected: number,
  uri: string,
): Promise<Float32Array> {
  const { openParquetColumns, tableFromIPC } = await generalReader();
  const reader = await openParquetColumns(file);
  let ipc: Uint8Array;
  try {
    ipc = await reader.read([group], ['embedding']);
  } finally {
    reader.close();
  }
  const table = tableFromIPC(ipc);
  const out = new Float32Array(expected);
  let at = 0;
  for (const batch of table.batches) {
    const list = batch.getChild('embedding')?.data[0];
    const child = list?.children[0];
    if (list === undefined || child === undefined || list.nullCount > 0 || child.nullCount > 0) {
      throw new InputError(`${uri}: row group ${group} has missing vectors`);
    }
    const width = expected / table.numRows;
    const start = child.offset + list.offset * width;
    out.set((child.values as Float32Array).subarray(start, start + list.length * width), at);
    at += list.length * width;
  }
  if (at !== expected) throw new InputError(`${uri}: row group ${group} holds vectors of another length`);
  return out;
}

/**
 * parquet-wasm and apache-arrow, for what the fast paths decline: loaded on
 * first use, so a search over embed-batch's own parts never loads them.
 */
async function generalReader(): Promise<{
  openParquetColumns: (file: Blob) => Promise<ParquetColumnsReader>;
  tableFromIPC: (ipc: Uint8Array) => Table;
}> {
  const [{ openParquetColumns }, { tableFromIPC }] = await Promise.all([
    import('../../write/parquetWasm.ts'),
    import('apache-arrow'),
  ]);
  return { openParquetColumns, tableFromIPC: (ipc) => tableFromIPC(ipc) };
}
