/**
 * Reads embed-batch output back with readers independent of the writer:
 * DuckDB for Parquet, apache-arrow's IPC reader for `.arrow`. For tests only.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';

/** One output row: `id`, `text` (when written), kept columns, `content_hash`, `embedding`. */
export interface OutputRow {
  readonly id: string;
  readonly text?: string;
  readonly content_hash: string;
  readonly embedding: number[];
  readonly [column: string]: unknown;
}

/** Runs one query against a fresh in-memory DuckDB and returns plain JS rows. */
export async function duckdbQuery(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A path as a DuckDB string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Every row of a Parquet file (or a glob of files, in file order), in file order.
 * With `dimensions`, the embedding is read as `FLOAT[dimensions]`, which
 * also proves the column casts to a fixed-size array.
 */
export async function readParquetRows(file: string, dimensions?: number): Promise<OutputRow[]> {
  const embedding = dimensions === undefined ? 'embedding' : `embedding::FLOAT[${dimensions}] as embedding`;
  const rows = await duckdbQuery(
    `select * exclude (embedding, file_row_number), ${embedding}
     from read_parquet(${sqlString(file)}, file_row_number = true, filename = true)
     order by filename, file_row_number`,
  );
  return rows.map(({ filename: _ignored, ...row }) => row as unknown as OutputRow);
}

/** DuckDB's column types of a Parquet file (`DESCRIBE`), by column name, in column order. */
export async function parquetColumnTypes(file: string): Promise<Record<string, string>> {
  const rows = await duckdbQuery(`describe select * from read_parquet(${sqlString(file)})`);
  return Object.fromEntries(rows.map((row) => [String(row.column_name), String(row.column_type)]));
}

/** The Parquet key/value metadata (without the encoded `ARROW:schema`). */
export async function parquetMetadata(file: string): Promise<Record<string, string>> {
  const rows = await duckdbQuery(
    `select decode(key) as key, decode(value) as value from parquet_kv_metadata(${sqlString(file)})
     where decode(key) <> 'ARROW:schema'`,
  );
  return Object.fromEntries(rows.map((row) => [String(row.key), String(row.value)]));
}

/** Per row group: its row count, and the encodings and compression of one column (by leaf path). */
export async function parquetRowGroups(
  file: string,
  column = 'embedding, list, item',
): Promise<{ rows: number; encodings: string; compression: string }[]> {
  const rows = await duckdbQuery(
    `select row_group_id, row_group_num_rows, encodings, compression
     from parquet_metadata(${sqlString(file)}) where path_in_schema = ${sqlString(column)}
     order by row_group_id`,
  );
  return rows.map((row) => ({
    rows: Number(row.row_group_num_rows),
    encodings: String(row.encodings),
    compression: String(row.compression),
  }));
}

/** Every row of an Arrow IPC file (file or stream format), in order. */
export async function readArrowRows(file: string): Promise<OutputRow[]> {
  const table = tableFromIPC(await readFile(file));
  const names = table.schema.fields.map((field) => field.name);
  const columns = names.map((name) => table.getChild(name));
  const rows: OutputRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: Record<string, unknown> = {};
    names.forEach((name, c) => {
      const value = columns[c]?.get(i);
      row[name] = name === 'embedding' ? Array.from(value as Iterable<number>) : value;
    });
    rows.push(row as unknown as OutputRow);
  }
  return rows;
}

/** Schema of an Arrow IPC file: field names with their Arrow types, and the schema metadata. */
export async function arrowSchema(file: string): Promise<{
  fields: { name: string; type: string; nullable: boolean }[];
  metadata: Record<string, string>;
}> {
  const table = tableFromIPC(await readFile(file));
  return {
    fields: table.schema.fields.map((field) => ({
      name: field.name,
      type: String(field.type),
      nullable: field.nullable,
    })),
    metadata: Object.fromEntries(table.schema.metadata),
  };
}

/** A complete local output folder, read back: manifest, usage, errors and every Parquet row. */
export interface OutputFolderContents {
  readonly manifest: Record<string, unknown> & { parts: { uri: string; rows: number; bytes: number }[] };
  readonly usage: Record<string, unknown>;
  readonly errors: Record<string, unknown>[];
  /** Rows of the `.parquet` parts (of the `.arrow` ones when there is no Parquet), in manifest order. */
  readonly rows: OutputRow[];
}

/**
 * Reads a local output folder the way a consumer would: through its manifest
 * (throws when there is none), then each listed part by file name.
 */
export async function readOutputFolder(dir: string): Promise<OutputFolderContents> {
  const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
  const usage = JSON.parse(await readFile(path.join(dir, 'usage.json'), 'utf8'));
  const errorsText = await readFile(path.join(dir, 'errors.jsonl'), 'utf8');
  const errors = errorsText
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const parts = manifest.parts as { uri: string }[];
  const parquet = parts.filter((part) => part.uri.endsWith('.parquet'));
  const chosen = parquet.length > 0 ? parquet : parts;
  const rows: OutputRow[] = [];
  for (const part of chosen) {
    const file = path.join(dir, path.basename(part.uri));
    rows.push(...(file.endsWith('.parquet') ? await readParquetRows(file) : await readArrowRows(file)));
  }
  return { manifest, usage, errors, rows };
}
