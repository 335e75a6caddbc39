/**
 * The parts of a Parquet footer (`FileMetaData`) that a column reader needs:
 * the schema's repetition and types along each leaf, row groups, and where
 * each column chunk lies. Field ids are those of parquet-format's parquet.thrift.
 */
import { ThriftCompactReader, type ThriftStruct, type ThriftValue } from './ThriftCompactReader.ts';

/** Where one column chunk of one row group lies, and how it is stored. */
export interface ColumnChunkInfo {
  /** Dotted path of the leaf, e.g. `embedding.list.item`. */
  readonly path: string;
  /** Physical type (parquet.thrift `Type`: 4 is FLOAT). */
  readonly type: number;
  /** Compression codec (parquet.thrift `CompressionCodec`: 0 none, 6 ZSTD). */
  readonly codec: number;
  /** Level entries in the chunk (values plus nulls and empty lists). */
  readonly numValues: number;
  /** First byte of the chunk: its dictionary page when it has one, else its first data page. */
  readonly start: number;
  readonly compressedBytes: number;
}

/** One row group. */
export interface RowGroupInfo {
  readonly rows: number;
  readonly columns: readonly ColumnChunkInfo[];
}

/** Repetition of a leaf column: the highest repetition and definition levels it can have. */
export interface LeafLevels {
  readonly maxRepetition: number;
  readonly maxDefinition: number;
}

/**
 * A leaf's `LogicalType` (a thrift union): which member was written, and an
 * INTEGER's width and sign.
 */
export interface LogicalType {
  /** The member's field id: 1 STRING, 3 LIST, 8 TIMESTAMP, 10 INTEGER, ... */
  readonly kind: number;
  /** INTEGER only: 8, 16, 32 or 64. */
  readonly bitWidth?: number;
  /** INTEGER only. */
  readonly signed?: boolean;
}

/** A leaf column's levels and types, as the schema states them. */
export interface LeafColumn extends LeafLevels {
  /**
   * Physical type (parquet.thrift `Type`: 0 BOOLEAN, 2 INT64, 5 DOUBLE,
   * 6 BYTE_ARRAY, ...); undefined when the schema gives none.
   */
  readonly type?: number;
  /** `ConvertedType` (0 UTF8, 18 INT_64, ...), when written. */
  readonly convertedType?: number;
  /** `LogicalType`, when written. */
  readonly logicalType?: LogicalType;
}

/** What `parseFooter` reads of a file's `FileMetaData`. */
export interface ParquetFooter {
  readonly rows: number;
  readonly rowGroups: readonly RowGroupInfo[];
  /** Key/value metadata (embed-batch writes `embedding.model` and friends here). */
  readonly metadata: ReadonlyMap<string, string>;
  /** Levels and types of every leaf column, by dotted path. */
  readonly leaves: ReadonlyMap<string, LeafColumn>;
}

/** `PAR1`, at both ends of a Parquet file. */
export const PARQUET_MAGIC = 0x31524150;
/** The tail: a 4-byte footer length and the magic. */
export const FOOTER_TAIL_BYTES = 8;

const REQUIRED = 0;
const REPEATED = 2;
const decoder = new TextDecoder();

/** The footer's length, from the file's last 8 bytes; throws when they are not a Parquet tail. */
export function footerLength(tail: Uint8Array): number {
  if (tail.byteLength < FOOTER_TAIL_BYTES) throw new RangeError('Not a Parquet file: fewer than 8 bytes');
  const view = new DataView(tail.buffer, tail.byteOffset + tail.byteLength - 8, 8);
  if (view.getUint32(4, true) !== PARQUET_MAGIC)
    throw new RangeError('Not a Parquet file: no PAR1 at the end');
  return view.getUint32(0, true);
}

/** Parses the thrift-encoded `FileMetaData` (the footer without its 8-byte tail). */
export function parseFooter(footer: Uint8Array): ParquetFooter {
  const meta = new ThriftCompactReader(footer).readStruct();
  const leaves = leafColumns(list(meta.get(2)).map(struct));
  const rowGroups = list(meta.get(4)).map((value) => {
    const group = struct(value);
    return {
      rows: num(group.get(3)),
      columns: list(group.get(1)).map((chunkValue) => {
        const column = struct(struct(chunkValue).get(3));
        const dictionary = column.get(11);
        const data = num(column.get(9));
        // Some writers put 0 here for "none"; a dictionary page always comes before the data pages.
        const start =
          typeof dictionary === 'number' && dictionary > 0 && dictionary < data ? dictionary : data;
        return {
          path: list(column.get(3)).map(text).join('.'),
          type: num(column.get(1)),
          codec: num(column.get(4)),
          numValues: num(column.get(5)),
          start,
          compressedBytes: num(column.get(7)),
        };
      }),
    };
  });
  const metadata = new Map<string, string>();
  for (const value of list(meta.get(5))) {
    const pair = struct(value);
    const key = pair.get(1);
    const val = pair.get(2);
    if (key instanceof Uint8Array) metadata.set(text(key), val instanceof Uint8Array ? text(val) : '');
  }
  return { rows: num(meta.get(3)), rowGroups, metadata, leaves };
}

/**
 * Max levels and types of every leaf: walking the flattened schema tree
 * (depth first, as written), each OPTIONAL element adds a definition level and
 * each REPEATED one a definition and a repetition level.
 */
function leafColumns(schema: readonly ThriftStruct[]): Map<string, LeafColumn> {
  const leaves = new Map<string, LeafColumn>();
  let at = 1; // element 0 is the root
  const walk = (prefix: string, repetition: number, definition: number): void => {
    const element = schema[at++];
    if (element === undefined) throw new RangeError('Parquet schema ends early');
    const name = text(element.get(4));
    const kind = element.get(3);
    const rep = kind === REPEATED ? repetition + 1 : repetition;
    const def = kind === REQUIRED || kind === undefined ? definition : definition + 1;
    const path = prefix === '' ? name : `${prefix}.${name}`;
    const children = element.get(5);
    if (typeof children === 'number' && children > 0) {
      for (let i = 0; i < children; i++) walk(path, rep, def);
    } else {
      leaves.set(path, { maxRepetition: rep, maxDefinition: def, ...leafTypes(element) });
    }
  };
  const root = schema[0];
  const top = root === undefined ? 0 : num(root.get(5));
  for (let i = 0; i < top; i++) walk('', 0, 0);
  return leaves;
}

const INTEGER = 10;

/** A leaf element's type 1, converted_type 6 and logicalType 10, those present. */
function leafTypes(element: ThriftStruct): Pick<LeafColumn, 'type' | 'convertedType' | 'logicalType'> {
  const type = element.get(1);
  const converted = element.get(6);
  return {
    type: typeof type === 'number' ? type : undefined,
    convertedType: typeof converted === 'number' ? converted : undefined,
    logicalType: logicalTypeOf(element.get(10)),
  };
}

function logicalTypeOf(value: ThriftValue | undefined): LogicalType | undefined {
  if (!(value instanceof Map)) return undefined;
  // A union: exactly one field is set, and its id says which member.
  const [kind, member] = [...(value as ThriftStruct)][0] ?? [];
  if (kind === undefined) return undefined;
  if (kind !== INTEGER || !(member instanceof Map)) return { kind };
  const bitWidth = (member as ThriftStruct).get(1);
  const signed = (member as ThriftStruct).get(2);
  return {
    kind,
    bitWidth: typeof bitWidth === 'number' ? bitWidth : undefined,
    signed: typeof signed === 'boolean' ? signed : undefined,
  };
}

function struct(value: ThriftValue | undefined): ThriftStruct {
  if (!(value instanceof Map)) throw new RangeError('Parquet footer: expected a struct');
  return value as ThriftStruct;
}

function list(value: ThriftValue | undefined): ThriftValue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new RangeError('Parquet footer: expected a list');
  return value;
}

function num(value: ThriftValue | undefined): number {
  if (typeof value !== 'number') throw new RangeError('Parquet footer: expected a number');
  return value;
}

function text(value: ThriftValue | undefined): string {
  if (!(value instanceof Uint8Array)) throw new RangeError('Parquet footer: expected a string');
  return decoder.decode(value);
}
