/**
 * The only module that imports `parquet-wasm`.
 *
 * The bare specifier resolves, under Node's `node` export condition, to the
 * package's CommonJS build (`parquet-wasm/node`), which loads
 * `parquet_wasm_bg.wasm` synchronously from its own folder via `__dirname`.
 * That works unchanged under tsx (Node imports the CJS named exports) and in a
 * CommonJS esbuild bundle (platform node), provided the bundler copies
 * `node_modules/parquet-wasm/node/parquet_wasm_bg.wasm` beside the bundle. The
 * `esm` build would instead need an async init with the wasm bytes, and an
 * ESM bundle has no `__dirname`. Keeping the import here means a bundler
 * config has exactly one place to care about.
 */
import {
  Compression,
  EnabledStatistics,
  Encoding,
  ParquetFile,
  readParquet,
  Table,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm';

/** Path of the wasm file next to the CJS build, relative to `node_modules`; for bundler configs. */
export const PARQUET_WASM_FILE = 'parquet-wasm/node/parquet_wasm_bg.wasm';

/** How to encode one Parquet file. */
export interface ParquetEncodeOptions {
  /** Rows per row group. */
  readonly rowGroupRows: number;
  /** Written as the file's key/value metadata (Arrow schema metadata is not copied there by the encoder). */
  readonly metadata: ReadonlyMap<string, string>;
  /** Top-level Utf8 columns, which must not get the float encoding. */
  readonly utf8Columns: readonly string[];
  /** Utf8 columns worth a dictionary (likely repeated values, e.g. kept category columns). */
  readonly dictionaryColumns: readonly string[];
  /** Columns that get chunk-level min/max statistics; everything else gets none. */
  readonly statisticsColumns: readonly string[];
  /** BYTE_STREAM_SPLIT for the float column(s). */
  readonly byteStreamSplit: boolean;
}

/**
 * Encodes an Arrow IPC stream as a ZSTD-compressed Parquet file.
 *
 * parquet-wasm 0.8 matches per-column settings by a one-segment column path,
 * so it cannot address the nested `embedding.list.item` leaf. Float encoding
 * is therefore set as the file-wide default, and every Utf8 column (all
 * top-level, so addressable) is set back to PLAIN, which BYTE_ARRAY needs.
 * Dictionaries are off by default (random floats and unique ids only pay for
 * a dictionary page and then fall back) and turned on only where asked.
 * Statistics likewise: min/max of vector components prune nothing.
 */
export function encodeParquet(arrowIpcStream: Uint8Array, options: ParquetEncodeOptions): Uint8Array {
  let builder = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(EnabledStatistics.None)
    .setKeyValueMetadata(new Map(options.metadata))
    .setCreatedBy('embed-batch (parquet-wasm)');
  if (options.byteStreamSplit) {
    builder = builder.setEncoding(Encoding.BYTE_STREAM_SPLIT);
    for (const column of options.utf8Columns) builder = builder.setColumnEncoding(column, Encoding.PLAIN);
  }
  for (const column of options.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  for (const column of options.statisticsColumns) {
    builder = builder.setColumnStatisticsEnabled(column, EnabledStatistics.Chunk);
  }
  // Every builder method and `writeParquet` take ownership of (and free) the
  // wasm object they are called on or given; only what was never handed over
  // needs an explicit `free()`.
  const properties = builder.build();
  let table: Table;
  try {
    table = Table.fromIPCStream(arrowIpcStream);
  } catch (error) {
    properties.free();
    throw error;
  }
  return writeParquet(table, properties);
}

/**
 * Decodes a whole Parquet file into an Arrow IPC stream (for `tableFromIPC`).
 * The wasm table is consumed (and freed) by `intoIPCStream`.
 */
export function decodeParquet(parquet: Uint8Array): Uint8Array {
  return readParquet(parquet).intoIPCStream();
}

/** A Parquet file opened for reading some columns of some row groups (see {@link openParquetColumns}). */
export interface ParquetColumnsReader {
  /** Whether the file has a top-level column of this name. */
  has(column: string): boolean;
  /**
   * The columns (top-level names) of the row groups (every row group when
   * undefined), decoded into one Arrow IPC stream (for `tableFromIPC`).
   */
  read(rowGroups: readonly number[] | undefined, columns: readonly string[]): Promise<Uint8Array>;
  /** Frees the reader's wasm memory. */
  close(): void;
}

/**
 * Opens a Parquet file for reading only some column chunks of it: `file` (a
 * Blob) is read by range, so a few rows of a large part cost the chunks that
 * hold them, not the file. The synchronous `readParquet` decodes every column
 * whatever it is told.
 */
export async function openParquetColumns(file: Blob): Promise<ParquetColumnsReader> {
  const parquet = await ParquetFile.fromFile(file);
  return {
    has(column) {
      const schema = parquet.schema();
      try {
        // The wasm schema answers only indexOf, which throws for a name it does not hold.
        schema.indexOf(column);
        return true;
      } catch {
        return false;
      } finally {
        schema.free();
      }
    },
    async read(rowGroups, columns) {
      const table = await parquet.read({
        ...(rowGroups === undefined ? {} : { rowGroups: [...rowGroups] }),
        columns: [...columns],
      });
      return table.intoIPCStream();
    },
    close() {
      parquet.free();
    },
  };
}
