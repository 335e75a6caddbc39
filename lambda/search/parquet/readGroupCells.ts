/**
 * Reads some rows' cells of some top-level columns of one row group, by
 * byte range: only those columns' chunks are read (chunks next to each other
 * in one read, the reads at once), and {@link readChunkCells} decodes the
 * wanted rows of each.
 * The columns it declines are named, for a general reader to read.
 */
import type { ColumnChunkInfo, LeafColumn, ParquetFooter } from './ParquetFooter.ts';
import { canReadCells, readChunkCells } from './readChunkCells.ts';
import type { Decompress } from './zstdDecompressor.ts';

/** Chunks at most this far apart are read in one range: the bytes between cost less than a request. */
const MAX_GAP_BYTES = 64 * 1024;

/** `length` bytes of the file from `start`. */
export type ByteRangeRead = (start: number, length: number) => Promise<Uint8Array>;

/** The cells read, by column, and the columns left to a general reader. */
export interface GroupCells {
  /** Each read column's cells, in the order of the rows asked. */
  readonly cells: ReadonlyMap<string, readonly unknown[]>;
  /** Columns {@link readChunkCells} declines here (or the row group lacks), in the order asked. */
  readonly declined: readonly string[];
}

/** A readable column's chunk and schema leaf. */
interface Readable {
  readonly name: string;
  readonly chunk: ColumnChunkInfo;
  readonly leaf: LeafColumn;
}

/**
 * The cells of `rows` of row group `group` in `columns`, as plain JSON values
 * (see {@link readChunkCells}), for those columns the cell reader handles.
 *
 * @param columns Top-level column names.
 * @param rows Row indexes in the row group, ascending.
 */
export async function readGroupCells(
  read: ByteRangeRead,
  footer: ParquetFooter,
  group: number,
  columns: readonly string[],
  rows: readonly number[],
  zstd: Decompress,
): Promise<GroupCells> {
  const chunks = footer.rowGroups[group]?.columns ?? [];
  const readable: Readable[] = [];
  const declined = new Set<string>();
  for (const name of columns) {
    // A list or struct column has no leaf of its own name: declined here.
    const chunk = chunks.find((c) => c.path === name);
    const leaf = footer.leaves.get(name);
    if (chunk !== undefined && leaf !== undefined && canReadCells(chunk, leaf)) {
      readable.push({ name, chunk, leaf });
    } else {
      declined.add(name);
    }
  }
  const cells = new Map<string, readonly unknown[]>();
  const runs = byteRuns(readable);
  // The runs are read at once (each a ranged GET on S3), then decoded in order.
  const reads = await Promise.all(runs.map((run) => read(run.start, run.end - run.start)));
  for (const [i, run] of runs.entries()) {
    const bytes = reads[i] as Uint8Array;
    for (const { name, chunk, leaf } of run.columns) {
      const from = chunk.start - run.start;
      const found = readChunkCells(
        bytes.subarray(from, from + chunk.compressedBytes),
        chunk,
        leaf,
        rows,
        zstd,
      );
      if (found === undefined) declined.add(name);
      else cells.set(name, found);
    }
  }
  return { cells, declined: columns.filter((name) => declined.has(name)) };
}

/** Columns whose chunks are read in one range, and that range. */
interface ByteRun {
  readonly start: number;
  readonly end: number;
  readonly columns: readonly Readable[];
}

/** The chunks in file order, put into runs of chunks at most {@link MAX_GAP_BYTES} apart. */
function byteRuns(readable: readonly Readable[]): ByteRun[] {
  const runs: { start: number; end: number; columns: Readable[] }[] = [];
  const inFileOrder = [...readable].sort((a, b) => a.chunk.start - b.chunk.start);
  for (const column of inFileOrder) {
    const { start, compressedBytes } = column.chunk;
    const last = runs[runs.length - 1];
    if (last !== undefined && start - last.end <= MAX_GAP_BYTES) {
      last.end = Math.max(last.end, start + compressedBytes);
      last.columns.push(column);
    } else {
      runs.push({ start, end: start + compressedBytes, columns: [column] });
    }
  }
  return runs;
}
