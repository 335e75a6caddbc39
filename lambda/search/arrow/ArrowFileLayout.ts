/**
 * Where an Arrow IPC file keeps what a search reads: its footer (schema and
 * record batch blocks) and each record batch's buffers, so the vectors and a
 * few cells can be read by byte range without apache-arrow. It understands
 * uncompressed files without dictionaries whose columns are of the common
 * types; for any other file it returns undefined and the caller uses
 * apache-arrow (format: https://arrow.apache.org/docs/format/Columnar.html).
 */
import { FlatBufferTable } from './FlatBufferTable.ts';

/** Arrow's `Type` union ids this reader lays out. */
export const ARROW_TYPE = {
  null: 1,
  int: 2,
  floatingPoint: 3,
  binary: 4,
  utf8: 5,
  bool: 6,
  decimal: 7,
  date: 8,
  time: 9,
  timestamp: 10,
  interval: 11,
  list: 12,
  struct: 13,
  fixedSizeBinary: 15,
  fixedSizeList: 16,
  map: 17,
  duration: 18,
  largeBinary: 19,
  largeUtf8: 20,
  largeList: 21,
} as const;

/** Buffers each type has in a record batch, before its children's. */
const BUFFERS: ReadonlyMap<number, number> = new Map([
  [ARROW_TYPE.null, 0],
  [ARROW_TYPE.int, 2],
  [ARROW_TYPE.floatingPoint, 2],
  [ARROW_TYPE.binary, 3],
  [ARROW_TYPE.utf8, 3],
  [ARROW_TYPE.bool, 2],
  [ARROW_TYPE.decimal, 2],
  [ARROW_TYPE.date, 2],
  [ARROW_TYPE.time, 2],
  [ARROW_TYPE.timestamp, 2],
  [ARROW_TYPE.interval, 2],
  [ARROW_TYPE.list, 2],
  [ARROW_TYPE.struct, 1],
  [ARROW_TYPE.fixedSizeBinary, 2],
  [ARROW_TYPE.fixedSizeList, 1],
  [ARROW_TYPE.map, 2],
  [ARROW_TYPE.duration, 2],
  [ARROW_TYPE.largeBinary, 3],
  [ARROW_TYPE.largeUtf8, 3],
  [ARROW_TYPE.largeList, 2],
]);

const MAGIC = 'ARROW1';
const HEADER_RECORD_BATCH = 3;

/** A schema field, as far as a search needs it. */
export interface ArrowField {
  readonly name: string;
  readonly type: number;
  /** Int: bit width; FloatingPoint: 16, 32 or 64; FixedSizeList: the list size. */
  readonly width: number;
  /** Int only. */
  readonly signed: boolean;
  readonly children: readonly ArrowField[];
}

/** Where a record batch is in the file. */
export interface ArrowBlock {
  readonly offset: number;
  readonly metaDataLength: number;
  readonly bodyLength: number;
}

/** What the footer says. */
export interface ArrowFooter {
  readonly fields: readonly ArrowField[];
  readonly metadata: ReadonlyMap<string, string>;
  readonly batches: readonly ArrowBlock[];
}

/** A field's place in a record batch: its node and its own buffers (file offsets). */
export interface ColumnLayout {
  readonly length: number;
  readonly nullCount: number;
  /** Byte ranges in the file, in the type's buffer order (validity first). */
  readonly buffers: readonly { readonly start: number; readonly length: number }[];
  readonly children: readonly ColumnLayout[];
}

/** One record batch: its rows, and each top-level column's layout by name. */
export interface RecordBatchLayout {
  readonly rows: number;
  readonly columns: ReadonlyMap<string, ColumnLayout>;
}

/** Bytes at the end that hold the footer's length and the magic. */
export const ARROW_TAIL_BYTES = 10;

/**
 * The footer's length from the file's last bytes (`tail` ends where the file
 * ends), or undefined when the file does not end as an Arrow IPC file does.
 */
export function arrowFooterLength(tail: Uint8Array): number | undefined {
  if (tail.byteLength < ARROW_TAIL_BYTES) return undefined;
  const end = tail.subarray(tail.byteLength - 6);
  if (new TextDecoder().decode(end) !== MAGIC) return undefined;
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  return view.getInt32(tail.byteLength - ARROW_TAIL_BYTES, true);
}

/**
 * The footer, or undefined when this reader does not lay out the file
 * (dictionaries, big-endian, a type it does not know).
 */
export function parseArrowFooter(footer: Uint8Array): ArrowFooter | undefined {
  const root = FlatBufferTable.root(new DataView(footer.buffer, footer.byteOffset, footer.byteLength));
  const schema = root.table(1);
  if (schema === undefined || schema.int16(0) !== 0) return undefined;
  if (root.structs(2, 24).length > 0) return undefined;
  const fields = schema.tables(1).map(fieldOf);
  if (fields.some((field) => field === undefined)) return undefined;
  const metadata = new Map<string, string>();
  for (const pair of schema.tables(2)) metadata.set(pair.string(0) ?? '', pair.string(1) ?? '');
  const view = root.view;
  const batches = root.structs(3, 24).map((at) => ({
    offset: Number(view.getBigInt64(at, true)),
    metaDataLength: view.getInt32(at + 8, true),
    bodyLength: Number(view.getBigInt64(at + 16, true)),
  }));
  return { fields: fields as ArrowField[], metadata, batches };
}

/**
 * A record batch's layout from its message (the block's first
 * `metaDataLength` bytes), or undefined when its body is compressed or it is
 * not a record batch.
 */
export function parseRecordBatch(
  message: Uint8Array,
  block: ArrowBlock,
  fields: readonly ArrowField[],
): RecordBatchLayout | undefined {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  // Since Arrow 0.15 a message starts with 0xFFFFFFFF, then its length; before, with the length.
  const start = view.getInt32(0, true) === -1 ? 8 : 4;
  const root = FlatBufferTable.root(view, start);
  if (root.uint8(1) !== HEADER_RECORD_BATCH) return undefined;
  const batch = root.table(2);
  if (batch === undefined || batch.has(3)) return undefined;
  const nodes = batch.structs(1, 16).map((at) => ({
    length: Number(view.getBigInt64(at, true)),
    nullCount: Number(view.getBigInt64(at + 8, true)),
  }));
  const body = block.offset + block.metaDataLength;
  const buffers = batch.structs(2, 16).map((at) => ({
    start: body + Number(view.getBigInt64(at, true)),
    length: Number(view.getBigInt64(at + 8, true)),
  }));
  let node = 0;
  let buffer = 0;
  const lay = (field: ArrowField): ColumnLayout | undefined => {
    const own = BUFFERS.get(field.type);
    const at = nodes[node++];
    if (own === undefined || at === undefined || buffer + own > buffers.length) return undefined;
    const mine = buffers.slice(buffer, buffer + own);
    buffer += own;
    const children: ColumnLayout[] = [];
    for (const child of field.children) {
      const laid = lay(child);
      if (laid === undefined) return undefined;
      children.push(laid);
    }
    return { ...at, buffers: mine, children };
  };
  const columns = new Map<string, ColumnLayout>();
  for (const field of fields) {
    const laid = lay(field);
    if (laid === undefined) return undefined;
    columns.set(field.name, laid);
  }
  if (node !== nodes.length || buffer !== buffers.length) return undefined;
  return { rows: batch.int64(0), columns };
}

function fieldOf(table: FlatBufferTable): ArrowField | undefined {
  if (table.has(4)) return undefined; // dictionary-encoded
  const type = table.uint8(2);
  if (!BUFFERS.has(type)) return undefined;
  const spec = table.table(3);
  let width = 0;
  let signed = false;
  if (type === ARROW_TYPE.int) {
    width = spec?.int32(0) ?? 0;
    signed = spec?.uint8(1) === 1;
  } else if (type === ARROW_TYPE.floatingPoint) {
    width = [16, 32, 64][spec?.int16(0) ?? -1] ?? 0;
  } else if (type === ARROW_TYPE.fixedSizeList) {
    width = spec?.int32(0) ?? 0;
  }
  const children: ArrowField[] = [];
  for (const child of table.tables(5)) {
    const field = fieldOf(child);
    if (field === undefined) return undefined;
    children.push(field);
  }
  return { name: table.string(0) ?? '', type, width, signed, children };
}
