import {
  Bool,
  type Data,
  type DataType,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  type TypeMap,
  Utf8,
} from 'apache-arrow';
import { ConfigError, EmbedBatchError } from '../errors.ts';
import { parseKeptColumn } from '../read/keptColumn.ts';
import type { EmbeddedRow, KeptType, KeptValue } from '../types.ts';
import { METADATA_KEYS } from './metadataKeys.ts';

/** What every part of one output shares: its columns and schema metadata. */
export interface EmbeddingTableLayout {
  /** Model id, recorded as `embedding.model`. */
  readonly model: string;
  /** Length of every vector, recorded as `embedding.dimensions`. */
  readonly dimensions: number;
  /** Input file, recorded as `source.uri`. */
  readonly sourceUri: string;
  /** When the job started, recorded as `created_at` (ISO 8601); the same for every part. */
  readonly createdAt: Date | string;
  /** Write the `text` column. */
  readonly includeText: boolean;
  /**
   * Kept input columns, in this order after `text`: `name` (Utf8) or
   * `name:type` (`parseKeptColumn`: Float64, Int64, Bool or List<Utf8>, nullable).
   */
  readonly keepColumns: readonly string[];
}

/** Column names the writer owns; a kept column may not take one of them. */
const RESERVED_COLUMNS = ['id', 'text', 'content_hash', 'embedding'] as const;

/**
 * Checks a layout before any row is buffered, so a bad `--keep-columns` or
 * dimension fails the job at the start rather than at the first part.
 *
 * @throws ConfigError naming the offending value.
 */
export function validateLayout(layout: EmbeddingTableLayout): void {
  if (!Number.isSafeInteger(layout.dimensions) || layout.dimensions <= 0) {
    throw new ConfigError(`Expected \`dimensions\` to be a positive integer, got ${layout.dimensions}`);
  }
  const seen = new Set<string>();
  for (const { name: column } of layout.keepColumns.map(parseKeptColumn)) {
    const reserved = RESERVED_COLUMNS.includes(column as (typeof RESERVED_COLUMNS)[number]);
    // Without the text column, a kept input column may be called `text`.
    if (reserved && !(column === 'text' && !layout.includeText)) {
      throw new ConfigError(
        `Kept column ${JSON.stringify(column)} clashes with an output column of that name`,
      );
    }
    if (seen.has(column)) throw new ConfigError(`Kept column ${JSON.stringify(column)} is listed twice`);
    seen.add(column);
  }
}

/** Schema metadata of every part (`embedding.model`, `embedding.dimensions`, `source.uri`, `created_at`). */
export function embeddingMetadata(layout: EmbeddingTableLayout): Map<string, string> {
  const createdAt = typeof layout.createdAt === 'string' ? layout.createdAt : layout.createdAt.toISOString();
  return new Map([
    [METADATA_KEYS.model, layout.model],
    [METADATA_KEYS.dimensions, String(layout.dimensions)],
    [METADATA_KEYS.sourceUri, layout.sourceUri],
    [METADATA_KEYS.createdAt, createdAt],
  ]);
}

/**
 * The Arrow schema of every part: `id`, `text` (unless left out), the kept
 * columns, `content_hash`, `embedding` (FixedSizeList<Float32>[dimensions] with
 * a non-nullable child named `item`). String columns are not nullable (absent
 * kept strings are '' by the reader's contract); typed kept columns are (null
 * when absent).
 */
export function embeddingSchema(layout: EmbeddingTableLayout): Schema {
  const utf8 = (name: string) => new Field(name, new Utf8(), false);
  const fields: Field[] = [utf8('id')];
  if (layout.includeText) fields.push(utf8('text'));
  for (const { name, type } of layout.keepColumns.map(parseKeptColumn)) fields.push(keptField(name, type));
  fields.push(utf8('content_hash'));
  const embedding = new FixedSizeList(layout.dimensions, new Field('item', new Float32(), false));
  return new Schema([...fields, new Field('embedding', embedding, false)], embeddingMetadata(layout));
}

/**
 * Builds one Arrow table (a single record batch) from embedded rows.
 *
 * Buffers are built directly and handed to `makeData`, not through Arrow's
 * builders: the vectors become one Float32Array (one `set` per row), the
 * strings one UTF-8 buffer per column with Int32 offsets. Callers bound the
 * string bytes per table (see `PartWriter`) so the Int32 offsets cannot overflow.
 *
 * `scratch`, when given and large enough, holds the vectors instead of a
 * fresh array: the table then shares it, so the caller must be done with the
 * table (e.g. have serialised it) before using `scratch` again.
 *
 * @throws EmbedBatchError when a vector's length is not `layout.dimensions`.
 */
export function buildEmbeddingTable(
  rows: readonly EmbeddedRow[],
  layout: EmbeddingTableLayout,
  scratch?: Float32Array,
): Table {
  const schema = embeddingSchema(layout);
  const { dimensions } = layout;
  const length = rows.length;

  const floats =
    scratch !== undefined && scratch.length >= length * dimensions
      ? scratch.subarray(0, length * dimensions)
      : new Float32Array(length * dimensions);
  for (let i = 0; i < length; i++) {
    const vector = (rows[i] as EmbeddedRow).vector;
    if (vector.length !== dimensions) {
      const row = rows[i] as EmbeddedRow;
      throw new EmbedBatchError(
        `Record ${row.record.record} (id ${JSON.stringify(row.record.id)}) has a vector of ${vector.length} dimensions, expected ${dimensions}`,
      );
    }
    floats.set(vector, i * dimensions);
  }

  const children: Data<DataType>[] = [utf8Data(rows.map((row) => row.record.id))];
  if (layout.includeText) children.push(utf8Data(rows.map((row) => row.record.text)));
  for (const { name, type } of layout.keepColumns.map(parseKeptColumn)) {
    const values = rows.map((row) => row.record.keep[name] ?? (type === 'string' ? '' : null));
    children.push(keptData(values, type));
  }
  children.push(utf8Data(rows.map((row) => row.contentHash)));
  const embeddingType = schema.fields[schema.fields.length - 1]?.type as FixedSizeList<Float32>;
  const child = makeData({ type: new Float32(), length: floats.length, nullCount: 0, data: floats });
  children.push(makeData({ type: embeddingType, length, nullCount: 0, child }));

  const struct = makeData({ type: new Struct<TypeMap>(schema.fields), length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
}

/** The Arrow field of a kept column of `type`. */
function keptField(name: string, type: KeptType): Field {
  switch (type) {
    case 'string':
      return new Field(name, new Utf8(), false);
    case 'number':
      return new Field(name, new Float64(), true);
    case 'integer':
      return new Field(name, new Int64(), true);
    case 'boolean':
      return new Field(name, new Bool(), true);
    case 'list':
      return new Field(name, new List(new Field('item', new Utf8(), false)), true);
  }
}

/** A validity bitmap (bit set: a value) and the null count, or none when every value is there. */
function validity(values: readonly KeptValue[]): { nullBitmap?: Uint8Array; nullCount: number } {
  let nullCount = 0;
  for (const value of values) if (value === null) nullCount++;
  if (nullCount === 0) return { nullCount };
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((value, i) => {
    if (value !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

/**
 * A kept column's data. The reader hands over values of the column's type
 * (or null), so anything else here is a bug, not bad input.
 */
function keptData(values: readonly KeptValue[], type: KeptType): Data<DataType> {
  const wrong = (value: KeptValue): never => {
    throw new EmbedBatchError(`A kept ${type} column got ${typeof value} ${String(value)}`);
  };
  const length = values.length;
  switch (type) {
    case 'string':
      return utf8Data(values.map((value) => (typeof value === 'string' ? value : wrong(value))));
    case 'number': {
      const data = new Float64Array(length);
      values.forEach((value, i) => {
        if (value !== null) data[i] = typeof value === 'number' ? value : wrong(value);
      });
      return makeData({ type: new Float64(), length, data, ...validity(values) });
    }
    case 'integer': {
      const data = new BigInt64Array(length);
      values.forEach((value, i) => {
        if (value !== null) data[i] = typeof value === 'bigint' ? value : wrong(value);
      });
      return makeData({ type: new Int64(), length, data, ...validity(values) });
    }
    case 'boolean': {
      const data = new Uint8Array(Math.ceil(length / 8));
      values.forEach((value, i) => {
        if (value === true) data[i >> 3]! |= 1 << (i & 7);
        else if (value !== false && value !== null) wrong(value);
      });
      return makeData({ type: new Bool(), length, data, ...validity(values) });
    }
    case 'list': {
      const offsets = new Int32Array(length + 1);
      const items: string[] = [];
      values.forEach((value, i) => {
        if (value !== null) {
          if (!Array.isArray(value)) wrong(value);
          items.push(...(value as readonly string[]));
        }
        offsets[i + 1] = items.length;
      });
      const type = new List(new Field('item', new Utf8(), false));
      return makeData({ type, length, valueOffsets: offsets, child: utf8Data(items), ...validity(values) });
    }
  }
}

/**
 * A Utf8 column from strings: sizes first (`Buffer.byteLength` is native and
 * does not allocate), then one exact allocation written in place.
 */
export function utf8Data(values: readonly string[]): Data<Utf8> {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += Buffer.byteLength(values[i] as string, 'utf8');
    if (total > 0x7fffffff) {
      throw new EmbedBatchError(
        `A Utf8 column of over 2 GiB does not fit Int32 offsets; write smaller parts`,
      );
    }
    offsets[i + 1] = total;
  }
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < values.length; i++) {
    data.write(values[i] as string, offsets[i] as number, 'utf8');
  }
  return makeData({
    type: new Utf8(),
    length: values.length,
    nullCount: 0,
    valueOffsets: offsets,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}
