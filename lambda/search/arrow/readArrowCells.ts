/**
 * The cells of a few rows of one top-level column of an Arrow record batch,
 * read by byte range from its buffers ({@link ColumnLayout}), as plain JSON
 * values the way `plainValue` makes them of apache-arrow's: strings, numbers,
 * 64-bit integers as numbers (strings past 2^53), booleans, null. Other types
 * are declined (undefined), for apache-arrow to read.
 */
import { plainValue } from '../VectorPart.ts';
import { ARROW_TYPE, type ArrowField, type ColumnLayout } from './ArrowFileLayout.ts';

/** `length` bytes of the file from `start`. */
export type ArrowRangeRead = (start: number, length: number) => Promise<Uint8Array>;

const utf8 = new TextDecoder();

/** The cells of `rows` (indexes in the batch), or undefined when this reader does not read the type. */
export async function readArrowCells(
  read: ArrowRangeRead,
  field: ArrowField,
  column: ColumnLayout,
  rows: readonly number[],
): Promise<unknown[] | undefined> {
  const width = fixedWidth(field);
  const isString = field.type === ARROW_TYPE.utf8;
  if (width === undefined && !isString) return undefined;
  // Buffers: validity, then data (fixed width), or offsets then data (strings).
  const [validity, second, third] = column.buffers;
  const data = isString ? third : second;
  const offsets = isString ? second : undefined;
  if (data === undefined || rows.some((row) => !(Number.isInteger(row) && row >= 0 && row < column.length)))
    return undefined;
  const valid = await validityOf(read, validity, column, rows);
  return Promise.all(
    rows.map(async (row, i) => {
      if (!valid[i]) return null;
      if (offsets !== undefined) {
        const ends = await read(offsets.start + 4 * row, 8);
        const view = new DataView(ends.buffer, ends.byteOffset, 8);
        const from = view.getInt32(0, true);
        const to = view.getInt32(4, true);
        return utf8.decode(await read(data.start + from, to - from));
      }
      if (field.type === ARROW_TYPE.bool) {
        const [byte] = await read(data.start + (row >> 3), 1);
        return (((byte ?? 0) >> (row & 7)) & 1) === 1;
      }
      const bytes = await read(data.start + (width as number) * row, width as number);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (field.type === ARROW_TYPE.floatingPoint)
        return width === 8 ? view.getFloat64(0, true) : view.getFloat32(0, true);
      if (width === 8)
        return plainValue(field.signed ? view.getBigInt64(0, true) : view.getBigUint64(0, true));
      return field.signed ? view.getInt32(0, true) : view.getUint32(0, true);
    }),
  );
}

/** Bytes per value of the fixed-width types read here: 32- and 64-bit ints and floats; booleans (bits) as 0. */
function fixedWidth(field: ArrowField): number | undefined {
  if (field.type === ARROW_TYPE.bool) return 0;
  if (field.type === ARROW_TYPE.int && (field.width === 32 || field.width === 64)) return field.width / 8;
  if (field.type === ARROW_TYPE.floatingPoint && (field.width === 32 || field.width === 64))
    return field.width / 8;
  return undefined;
}

/** Whether each row is set: all are when the column has no nulls (its validity buffer may then be empty). */
async function validityOf(
  read: ArrowRangeRead,
  validity: ColumnLayout['buffers'][number] | undefined,
  column: ColumnLayout,
  rows: readonly number[],
): Promise<boolean[]> {
  if (column.nullCount === 0 || validity === undefined || validity.length === 0) return rows.map(() => true);
  return Promise.all(
    rows.map(async (row) => {
      const [byte] = await read(validity.start + (row >> 3), 1);
      return (((byte ?? 0) >> (row & 7)) & 1) === 1;
    }),
  );
}
