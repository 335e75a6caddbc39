import type { Table } from 'apache-arrow';
import { InputError } from '../../errors.ts';
import type { ObjectStore } from '../../store/ObjectStore.ts';
import { readAll, readRange } from '../../store/readBytes.ts';
import { METADATA_KEYS } from '../../write/metadataKeys.ts';
import {
  plainValue,
  type RowAddress,
  type RowColumns,
  UNRETURNED_COLUMNS,
  type VectorBatch,
  type VectorPart,
} from '../VectorPart.ts';
import {
  ARROW_TAIL_BYTES,
  ARROW_TYPE,
  type ArrowFooter,
  arrowFooterLength,
  parseArrowFooter,
  parseRecordBatch,
  type RecordBatchLayout,
} from './ArrowFileLayout.ts';
import { readArrowCells } from './readArrowCells.ts';

/** Bytes read from the end at first: an embed-batch part's footer is a few KB. */
const TAIL_GUESS = 64 * 1024;

/** `length` bytes from `start`, into `into` where the store can. */
type RangeRead = (start: number, length: number, into?: Uint8Array) => Promise<Uint8Array>;

/**
 * An Arrow IPC part for a search. Its footer and record batch headers are
 * read first (ArrowFileLayout), then only the vectors' buffer of each batch,
 * by byte range (a ranged GET on S3), and at the end the winners' cells; no
 * apache-arrow. A file that layout does not cover (compressed, dictionaries,
 * other types) is read whole by apache-arrow instead.
 */
export async function openArrowPart(store: ObjectStore, uri: string): Promise<VectorPart> {
  const size = (await store.head(uri))?.bytes;
  if (size === undefined) throw new InputError(`no such file or object: ${uri}`);
  const read: RangeRead = (start, length, into) => readRange(store, uri, start, length, into);
  let laid: { footer: ArrowFooter; batches: RecordBatchLayout[] } | undefined;
  try {
    laid = await layOut(read, size);
  } catch {
    // Not laid out here (a damaged file, too): apache-arrow reads it, or says what is wrong.
    laid = undefined;
  }
  if (laid === undefined) return openWholeArrowPart(store, uri);
  const { footer, batches } = laid;
  const embedding = footer.fields.find((f) => f.name === 'embedding');
  if (embedding === undefined || !footer.fields.some((f) => f.name === 'id')) throw notAPart(uri);
  const item = embedding.children[0];
  const dimensions = embedding.width;
  const flatFloats =
    embedding.type === ARROW_TYPE.fixedSizeList &&
    item?.type === ARROW_TYPE.floatingPoint &&
    item.width === 32;
  // Another list type: apache-arrow reads it, or refuses it as no part.
  if (!flatFloats || dimensions < 1) return openWholeArrowPart(store, uri);
  const returned = footer.fields.filter((f) => !UNRETURNED_COLUMNS.has(f.name));
  return {
    uri,
    model: footer.metadata.get(METADATA_KEYS.model) ?? '',
    dimensions,
    rows: batches.reduce((sum, b) => sum + b.rows, 0),
    async *batches(): AsyncGenerator<VectorBatch> {
      // Two buffers, taken in turn: one batch's vectors are scored while the next one's are read.
      const buffers = [new Uint8Array(0), new Uint8Array(0)];
      const vectorsOf = (group: number): Promise<Float32Array> | undefined => {
        const batch = batches[group];
        if (batch === undefined) return undefined;
        const list = batch.columns.get('embedding');
        const values = list?.children[0];
        const data = values?.buffers[1];
        const floats = batch.rows * dimensions;
        if (list === undefined || values === undefined || data === undefined || data.length < floats * 4)
          return Promise.reject(
            new InputError(`${uri}: record batch ${group} holds no vectors of ${dimensions}`),
          );
        if (list.nullCount > 0 || values.nullCount > 0)
          return Promise.reject(new InputError(`${uri}: record batch ${group} has missing vectors`));
        const turn = group % 2;
        if ((buffers[turn]?.byteLength ?? 0) < floats * 4) buffers[turn] = new Uint8Array(floats * 4);
        return read(data.start, floats * 4, buffers[turn]).then((bytes) => {
          // A file cut short reads short: never score what the buffer held before.
          if (bytes.byteLength !== floats * 4)
            throw new InputError(
              `${uri}: record batch ${group} ends before its vectors do; the file is cut short`,
            );
          return bytes.byteOffset % 4 === 0
            ? new Float32Array(bytes.buffer, bytes.byteOffset, floats)
            : new Float32Array(bytes.slice().buffer, 0, floats);
        });
      };
      let next = vectorsOf(0);
      for (const [group, batch] of batches.entries()) {
        const values = next;
        next = vectorsOf(group + 1);
        // Awaited in its turn; until then a failure must not count as unhandled.
        next?.catch(() => undefined);
        if (batch.rows === 0) continue;
        yield { group, rows: batch.rows, values: await (values as Promise<Float32Array>), offset: 0 };
      }
    },
    async columnsOf(wanted: readonly RowAddress[]): Promise<RowColumns[]> {
      // Each returned column of each batch that holds wanted rows, read at once for all those rows.
      const groups = [...new Set(wanted.map((w) => w.group))];
      const perGroup = await Promise.all(
        groups.map(async (group) => {
          const rows = wanted.filter((w) => w.group === group).map((w) => w.row);
          const byColumn = await Promise.all(
            returned.map((field) => {
              const column = batches[group]?.columns.get(field.name);
              return column === undefined ? undefined : readArrowCells(read, field, column, rows);
            }),
          );
          return { group, rows, byColumn };
        }),
      );
      const cellOf = new Map(perGroup.map((g) => [g.group, g]));
      // A column of a type read here by nothing but apache-arrow: the file is read whole, once.
      let whole: Table | undefined;
      const out: RowColumns[] = [];
      for (const { group, row } of wanted) {
        const cells = cellOf.get(group);
        const at = cells?.rows.indexOf(row) ?? -1;
        const cellsOfRow: Record<string, unknown> = {};
        for (const [j, field] of returned.entries()) {
          const found = cells?.byColumn[j];
          if (found !== undefined) {
            cellsOfRow[field.name] = found[at];
            continue;
          }
          whole ??= await load(store, uri);
          cellsOfRow[field.name] = plainValue(whole.batches[group]?.getChild(field.name)?.get(row));
        }
        out.push(cellsOfRow);
      }
      return out;
    },
  };
}

/** The footer and every record batch's layout, or undefined when ArrowFileLayout does not cover the file. */
async function layOut(
  read: RangeRead,
  size: number,
): Promise<{ footer: ArrowFooter; batches: RecordBatchLayout[] } | undefined> {
  const tailStart = Math.max(0, size - TAIL_GUESS);
  let tail = await read(tailStart, size - tailStart);
  const length = arrowFooterLength(tail);
  if (length === undefined) return undefined;
  const footerStart = size - ARROW_TAIL_BYTES - length;
  if (footerStart < 0) return undefined;
  if (footerStart < tailStart) tail = await read(footerStart, length + ARROW_TAIL_BYTES);
  const from = tail.byteLength - ARROW_TAIL_BYTES - length;
  const footer = parseArrowFooter(tail.subarray(from, from + length));
  if (footer === undefined) return undefined;
  const batches = await Promise.all(
    footer.batches.map(async (block) =>
      parseRecordBatch(await read(block.offset, block.metaDataLength), block, footer.fields),
    ),
  );
  if (batches.some((batch) => batch === undefined)) return undefined;
  return { footer, batches: batches as RecordBatchLayout[] };
}

/**
 * An Arrow IPC part read whole by apache-arrow (a part is bounded: about 32
 * MiB of vectors), its record batches used where they lie: the vectors are
 * views of the FixedSizeList's flat values, no copy.
 */
async function openWholeArrowPart(store: ObjectStore, uri: string): Promise<VectorPart> {
  let table: Table | undefined = await load(store, uri);
  const field = table.schema.fields.find((f) => f.name === 'embedding');
  const dimensions = (field?.type as { listSize?: number } | undefined)?.listSize;
  if (dimensions === undefined || table.getChild('id') === null) {
    throw notAPart(uri);
  }
  const model = table.schema.metadata.get(METADATA_KEYS.model) ?? '';
  const rows = table.numRows;
  return {
    uri,
    model,
    dimensions,
    rows,
    async *batches(): AsyncGenerator<VectorBatch> {
      // Arrow's vectors are used where they lie; the scan copies each batch into its kernel.
      const scanned = table ?? (await load(store, uri));
      // Let the file go once scanned; the winners' columns are read again, from the few parts that have them.
      table = undefined;
      for (const [group, batch] of scanned.batches.entries()) {
        const list = batch.getChild('embedding')?.data[0];
        const child = list?.children[0];
        if (list === undefined || child === undefined || batch.numRows === 0) continue;
        if (list.nullCount > 0) throw new InputError(`${uri}: record batch ${group} has missing vectors`);
        const values = child.values as Float32Array;
        yield {
          group,
          rows: batch.numRows,
          values,
          // Slices carry offsets on both levels; honour them rather than assume zero.
          offset: child.offset + list.offset * dimensions,
        };
      }
    },
    async columnsOf(wanted: readonly RowAddress[]): Promise<RowColumns[]> {
      const source = table ?? (await load(store, uri));
      const names = source.schema.fields.map((f) => f.name).filter((name) => !UNRETURNED_COLUMNS.has(name));
      return wanted.map(({ group, row }) => {
        const batch = source.batches[group];
        const cells: Record<string, unknown> = {};
        for (const name of names) cells[name] = plainValue(batch?.getChild(name)?.get(row));
        return cells;
      });
    },
  };
}

async function load(store: ObjectStore, uri: string): Promise<Table> {
  // Loaded here, not with the module: a search over Parquet parts never needs it.
  const [{ tableFromIPC }, bytes] = await Promise.all([import('apache-arrow'), readAll(store, uri)]);
  try {
    return tableFromIPC(bytes);
  } catch (error) {
    throw new InputError(`${uri}: not a readable Arrow file (${(error as Error).message})`, { cause: error });
  }
}

function notAPart(uri: string): InputError {
  return new InputError(`${uri}: no id and FixedSizeList embedding columns; not an embed-batch part`);
}
