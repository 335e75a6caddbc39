import { tableToIPC } from 'apache-arrow';
import { ConfigError, EmbedBatchError } from '../errors.ts';
import { type KeptColumn, parseKeptColumn } from '../read/keptColumn.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { joinUri } from '../store/uri.ts';
import type { EmbeddedRow, OutputFile, OutputFormat } from '../types.ts';
import { buildEmbeddingTable, type EmbeddingTableLayout, validateLayout } from './buildEmbeddingTable.ts';
import { encodeParquet } from './parquetWasm.ts';

/** Float bytes a part aims at; see `defaultRowsPerPart`. */
const TARGET_PART_FLOAT_BYTES = 32 * 2 ** 20;
/** Float bytes a Parquet row group aims at; see `defaultRowGroupRows`. */
const TARGET_ROW_GROUP_FLOAT_BYTES = 8 * 2 ** 20;
const MIN_ROWS = 1_000;
const MAX_ROWS = 100_000;

/** Options of a `PartWriter`. */
export interface PartWriterOptions {
  /** @default 'parquet' */
  readonly format?: OutputFormat;
  /** Model id: schema metadata `embedding.model`. */
  readonly model: string;
  /** Input file: schema metadata `source.uri`. */
  readonly sourceUri: string;
  /** Schema metadata `created_at`, the same in every part. @default the time the writer was made */
  readonly createdAt?: Date | string;
  /** Write the `text` column. @default true */
  readonly includeText?: boolean;
  /** Kept input columns, in output order. @default [] */
  readonly keepColumns?: readonly string[];
  /** Vector length. @default learned from the first row (unknown models report it only by answering) */
  readonly dimensions?: number;
  /** Most rows in one part. @default defaultRowsPerPart(dimensions) */
  readonly rowsPerPart?: number;
  /** Most rows in one Parquet row group. @default defaultRowGroupRows(dimensions) */
  readonly rowGroupRows?: number;
  /**
   * A part is also cut when its strings (ids, texts, kept values, hashes) reach
   * this many UTF-16 code units, so long texts cannot blow memory or the Int32
   * offsets of a Utf8 column. @default 64 Mi
   */
  readonly maxPartStringChars?: number;
  /** BYTE_STREAM_SPLIT encoding of the embedding floats in Parquet (about 9 % smaller with ZSTD). @default true */
  readonly byteStreamSplit?: boolean;
  /**
   * Names part `index` (0-based) of a given extension; must match `PART_FILE_PATTERN`
   * so that a later run can clean it up. @default partFileName
   */
  readonly fileName?: (index: number, extension: 'parquet' | 'arrow') => string;
  /**
   * Parts an earlier attempt of this run wrote (a resumed checkpoint): listed
   * first by `finish()`, and numbering goes on after them. @default none
   */
  readonly earlier?: { readonly parts: readonly OutputFile[]; readonly nextPart: number };
  /**
   * When no row was added, `finish()` still writes one part with no rows and
   * the full schema, so `read_parquet('.../part-*.parquet')` finds a file.
   * Needs `dimensions`. @default false
   */
  readonly emptyPart?: boolean;
}

/**
 * Rows per part for vectors of `dimensions` floats: about 32 MiB of float data,
 * clamped to [1 000, 100 000]. Large enough that per-file overhead and request
 * counts stay small, small enough that a part is built, encoded and uploaded in
 * bounded memory (each part is copied a few times on its way to Parquet).
 */
export function defaultRowsPerPart(dimensions: number): number {
  return clampRows(TARGET_PART_FLOAT_BYTES / (dimensions * 4));
}

/**
 * Rows per Parquet row group: about 8 MiB of float data, clamped to
 * [1 000, 100 000], so a full part has about four row groups: readers such as
 * DuckDB parallelise over them and streaming readers hold one at a time.
 */
export function defaultRowGroupRows(dimensions: number): number {
  return clampRows(TARGET_ROW_GROUP_FLOAT_BYTES / (dimensions * 4));
}

function clampRows(rows: number): number {
  return Math.min(MAX_ROWS, Math.max(MIN_ROWS, Math.floor(rows)));
}

/** `part-00000.parquet`: five digits keep names in row order up to 100 000 parts. */
export function partFileName(index: number, extension: 'parquet' | 'arrow'): string {
  return `part-${String(index).padStart(5, '0')}.${extension}`;
}

/**
 * Writes embedded rows as bounded part files (`part-00000.parquet`, ...).
 *
 * Rows are buffered until a part is full (`rowsPerPart` rows, or
 * `maxPartStringChars` of strings), then the part is built as one Arrow table,
 * encoded and written with one `put`. Writes run one at a time, in order; the
 * promise from `add`/`addMany` settles when every part cut so far is written,
 * so a caller that awaits it holds at most one part in memory plus the one
 * being written. After a failed write every later call rejects.
 *
 * With format `both`, each part is written as `.parquet` then `.arrow`, and
 * `finish()` lists them in that order, part by part. With no rows added it
 * writes no parts, unless `emptyPart` asks for one (its schema needs the dimension).
 */
export class PartWriter {
  readonly #store: ObjectStore;
  readonly #dir: string;
  readonly #format: OutputFormat;
  readonly #model: string;
  readonly #sourceUri: string;
  readonly #createdAt: string;
  readonly #includeText: boolean;
  readonly #keepColumns: readonly string[];
  readonly #kept: readonly KeptColumn[];
  readonly #maxPartStringChars: number;
  readonly #byteStreamSplit: boolean;
  readonly #requestedRowsPerPart: number | undefined;
  readonly #requestedRowGroupRows: number | undefined;
  readonly #fileName: (index: number, extension: 'parquet' | 'arrow') => string;
  readonly #emptyPart: boolean;

  #layout: EmbeddingTableLayout | undefined;
  #rowsPerPart = 0;
  #rowGroupRows = 0;
  #buffer: EmbeddedRow[] = [];
  #bufferChars = 0;
  #nextPart = 0;
  #rowsAccepted = 0;
  #outputs: OutputFile[] = [];
  #writes: Promise<void> = Promise.resolve();
  #finished = false;
  /** The vectors of the part being encoded, reused part after part (Parquet only). */
  #scratch: Float32Array | undefined;

  /**
   * @param store Where the parts go.
   * @param dir Output folder (local path or `s3://bucket/prefix/`).
   * @throws ConfigError for a bad option or kept column.
   */
  constructor(store: ObjectStore, dir: string, options: PartWriterOptions) {
    this.#store = store;
    this.#dir = dir;
    this.#format = options.format ?? 'parquet';
    this.#model = options.model;
    this.#sourceUri = options.sourceUri;
    const createdAt = options.createdAt ?? new Date();
    this.#createdAt = typeof createdAt === 'string' ? createdAt : createdAt.toISOString();
    this.#includeText = options.includeText ?? true;
    this.#keepColumns = [...(options.keepColumns ?? [])];
    this.#kept = this.#keepColumns.map(parseKeptColumn);
    this.#maxPartStringChars = options.maxPartStringChars ?? 64 * 2 ** 20;
    this.#byteStreamSplit = options.byteStreamSplit ?? true;
    this.#requestedRowsPerPart = options.rowsPerPart;
    this.#requestedRowGroupRows = options.rowGroupRows;
    this.#fileName = options.fileName ?? partFileName;
    if (options.earlier !== undefined) {
      this.#outputs = [...options.earlier.parts];
      this.#nextPart = options.earlier.nextPart;
    }
    this.#emptyPart = options.emptyPart ?? false;
    if (this.#emptyPart && options.dimensions === undefined) {
      throw new ConfigError('Expected `dimensions` with `emptyPart`: the schema of an empty part needs it');
    }

    if (!['parquet', 'arrow', 'both'].includes(this.#format)) {
      throw new ConfigError(
        `Expected \`format\` to be parquet, arrow or both, got ${JSON.stringify(this.#format)}`,
      );
    }
    for (const [name, value] of [
      ['rowsPerPart', options.rowsPerPart],
      ['rowGroupRows', options.rowGroupRows],
      ['maxPartStringChars', options.maxPartStringChars],
      ['dimensions', options.dimensions],
    ] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) {
        throw new ConfigError(`Expected \`${name}\` to be a positive integer, got ${value}`);
      }
    }
    // Check the columns now, so a bad --keep-columns fails before any request is paid for.
    validateLayout(this.#layoutFor(options.dimensions ?? 1));
    if (options.dimensions !== undefined) this.#fixDimensions(options.dimensions);
  }

  /** Vector length: as configured, or learned from the first row; undefined before that. */
  get dimensions(): number | undefined {
    return this.#layout?.dimensions;
  }

  /** Rows accepted so far (written or buffered). */
  get rows(): number {
    return this.#rowsAccepted;
  }

  /** Index the next part will get (parts of earlier attempts included). */
  get nextPart(): number {
    return this.#nextPart;
  }

  /**
   * Writes the buffered rows as a part now (a checkpoint: every row added so
   * far is then in a written part) and returns every file written so far.
   * Rejects with the first write error.
   */
  async flush(): Promise<OutputFile[]> {
    if (this.#finished) throw new EmbedBatchError('PartWriter: flush() after finish()');
    if (this.#buffer.length > 0) this.#cutPart();
    await this.#writes;
    return [...this.#outputs];
  }

  /** Adds one row; see `addMany`. */
  add(row: EmbeddedRow): Promise<void> {
    return this.addMany([row]);
  }

  /**
   * Adds rows in order. Resolves when every full part so far is written;
   * rejects with the first write error.
   *
   * @throws EmbedBatchError (as a rejection) when a vector has the wrong length or after `finish()`.
   */
  addMany(rows: readonly EmbeddedRow[]): Promise<void> {
    if (this.#finished) return Promise.reject(new EmbedBatchError('PartWriter: rows added after finish()'));
    for (const row of rows) {
      if (this.#layout === undefined) {
        if (row.vector.length === 0) {
          return Promise.reject(new EmbedBatchError(`Record ${row.record.record} has an empty vector`));
        }
        this.#fixDimensions(row.vector.length);
      }
      const dimensions = this.#layout?.dimensions;
      if (row.vector.length !== dimensions) {
        return Promise.reject(
          new EmbedBatchError(
            `Record ${row.record.record} (id ${JSON.stringify(row.record.id)}) has a vector of ${row.vector.length} dimensions, expected ${dimensions}`,
          ),
        );
      }
      this.#buffer.push(row);
      this.#rowsAccepted++;
      this.#bufferChars += this.#stringChars(row);
      if (this.#buffer.length >= this.#rowsPerPart || this.#bufferChars >= this.#maxPartStringChars) {
        this.#cutPart();
      }
    }
    return this.#writes;
  }

  /**
   * Writes the last, partial part and returns every file written, in order
   * (format `both`: `.parquet` then `.arrow` for each part). Calling it again
   * returns the same list.
   */
  async finish(): Promise<OutputFile[]> {
    if (!this.#finished) {
      this.#finished = true;
      if (this.#buffer.length > 0 || (this.#emptyPart && this.#nextPart === 0)) this.#cutPart();
    }
    await this.#writes;
    return [...this.#outputs];
  }

  #layoutFor(dimensions: number): EmbeddingTableLayout {
    return {
      model: this.#model,
      dimensions,
      sourceUri: this.#sourceUri,
      createdAt: this.#createdAt,
      includeText: this.#includeText,
      keepColumns: this.#keepColumns,
    };
  }

  #fixDimensions(dimensions: number): void {
    const layout = this.#layoutFor(dimensions);
    validateLayout(layout);
    this.#layout = layout;
    this.#rowsPerPart = this.#requestedRowsPerPart ?? defaultRowsPerPart(dimensions);
    this.#rowGroupRows = Math.min(
      this.#requestedRowGroupRows ?? defaultRowGroupRows(dimensions),
      this.#rowsPerPart,
    );
  }

  /** Strings a row adds to a part, in UTF-16 code units (a cheap stand-in for bytes). */
  #stringChars(row: EmbeddedRow): number {
    let chars = row.record.id.length + row.contentHash.length;
    if (this.#includeText) chars += row.record.text.length;
    for (const { name } of this.#kept) {
      const value = row.record.keep[name];
      if (typeof value === 'string') chars += value.length;
      else if (Array.isArray(value)) for (const item of value) chars += item.length;
    }
    return chars;
  }

  /** Hands the buffered rows to the write queue and starts a new buffer. */
  #cutPart(): void {
    const rows = this.#buffer;
    const index = this.#nextPart++;
    this.#buffer = [];
    this.#bufferChars = 0;
    // Chained on the previous write: parts land in order, one at a time, and
    // a failed write fails every later one.
    this.#writes = this.#writes.then(() => this.#writePart(rows, index));
    // A caller that stops awaiting after a failure still gets the error from
    // `finish()`; until then the rejection must not count as unhandled.
    this.#writes.catch(() => {});
  }

  async #writePart(rows: EmbeddedRow[], index: number): Promise<void> {
    const layout = this.#layout as EmbeddingTableLayout;
    // Parquet only: the table is consumed (copied into wasm) before the first
    // await below, so every part can reuse one vector array instead of
    // faulting in a fresh one (32 MiB by default). An `.arrow` file is written
    // after an await, so it gets its own. Sized by the largest part so far.
    let scratch: Float32Array | undefined;
    if (this.#format === 'parquet') {
      const floats = rows.length * layout.dimensions;
      if (this.#scratch === undefined || this.#scratch.length < floats)
        this.#scratch = new Float32Array(floats);
      scratch = this.#scratch;
    }
    let table: ReturnType<typeof buildEmbeddingTable> | undefined = buildEmbeddingTable(
      rows,
      layout,
      scratch,
    );
    // The table holds copies of the rows' data; let the rows go before the encoders make more.
    rows.length = 0;
    let parquet: Uint8Array | undefined;
    let arrow: Uint8Array | undefined;
    if (this.#format !== 'arrow') {
      parquet = encodeParquet(tableToIPC(table, 'stream'), {
        rowGroupRows: this.#rowGroupRows,
        metadata: table.schema.metadata,
        // Every top-level column but the vectors is set back to PLAIN (typed kept columns too).
        utf8Columns: table.schema.fields
          .filter((field) => field.name !== 'embedding')
          .map((field) => field.name),
        dictionaryColumns: this.#kept.filter((k) => k.type === 'string').map((k) => k.name),
        statisticsColumns: ['id'],
        // The file-wide float encoding would reach a list's nested strings, which cannot be set back.
        byteStreamSplit: this.#byteStreamSplit && !this.#kept.some((k) => k.type === 'list'),
      });
    }
    const rowCount = table.numRows;
    if (this.#format !== 'parquet') arrow = tableToIPC(table, 'file');
    table = undefined;

    if (parquet !== undefined) {
      const uri = joinUri(this.#dir, this.#fileName(index, 'parquet'));
      const { bytes } = await this.#store.put(uri, parquet);
      this.#outputs.push({ uri, rows: rowCount, bytes });
      parquet = undefined;
    }
    if (arrow !== undefined) {
      const uri = joinUri(this.#dir, this.#fileName(index, 'arrow'));
      const { bytes } = await this.#store.put(uri, arrow);
      this.#outputs.push({ uri, rows: rowCount, bytes });
    }
  }
}
