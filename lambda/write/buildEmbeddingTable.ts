import {
  type Data,
  type DataType,
  Field,
  FixedSizeList,
  Float32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  type TypeMap,
  Utf8,
} from 'apache-arrow';
import { ConfigError, EmbedBatchError } from '../errors.ts';
import type { EmbeddedRow } from '../types.ts';

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
  /** Kept input columns, written as Utf8 in this order after `text`. */
  readonly keepColumns: readonly string[];
}

/** Schema metadata keys fixed by DESIGN.md. */
export const METADATA_KEYS = {
  model: 'embedding.model',
  dimensions: 'embedding.dimensions',
  sourceUri: 'source.uri',
  createdAt: 'created_at',
} as const;

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
  for (const column of layout.keepColumns) {
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
 * a non-nullable child named `item`). No column is nullable: absent kept
 * values are '' by the reader's contract.
 */
export function embeddingSchema(layout: EmbeddingTableLayout): Schema {
  const utf8 = (name: string) => new Field(name, new Utf8(), false);
  const fields = [utf8('id')];
  if (layout.includeText) fields.push(utf8('text'));
  for (const column of layout.keepColumns) fields.push(utf8(column));
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
  for (const column of layout.keepColumns) {
    children.push(utf8Data(rows.map((row) => row.record.keep[column] ?? '')));
  }
  children.push(utf8Data(rows.map((row) => row.contentHash)));
  const embeddingType = schema.fields[schema.fields.length - 1]?.type as FixedSizeList<Float32>;
  const child = makeData({ type: new Float32(), length: floats.length, nullCount: 0, data: floats });
  children.push(makeData({ type: embeddingType, length, nullCount: 0, child }));

  const struct = makeData({ type: new Struct<TypeMap>(schema.fields), length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, struct)]);
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
