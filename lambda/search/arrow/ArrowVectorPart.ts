import type { Table } from 'apache-arrow';
import { InputError } from '../../errors.ts';
import type { ObjectStore } from '../../store/ObjectStore.ts';
import { readAll } from '../../store/readBytes.ts';
import { METADATA_KEYS } from '../../write/metadataKeys.ts';
import {
  plainValue,
  type RowAddress,
  type RowColumns,
  UNRETURNED_COLUMNS,
  type VectorBatch,
  type VectorPart,
} from '../VectorPart.ts';

/**
 * An Arrow IPC part for a search. The file is read whole (a part is bounded:
 * about 32 MiB of vectors) and its record batches are used where they lie:
 * the vectors are views of the FixedSizeList's flat values, no copy.
 */
export async function openArrowPart(store: ObjectStore, uri: string): Promise<VectorPart> {
  let table: Table | undefined = await load(store, uri);
  const field = table.schema.fields.find((f) => f.name === 'embedding');
  const dimensions = (field?.type as { listSize?: number } | undefined)?.listSize;
  if (dimensions === undefined || table.getChild('id') === null) {
    throw new InputError(`${uri}: no id and FixedSizeList embedding columns; not an embed-batch part`);
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
