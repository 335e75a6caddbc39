import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, EmbedBatchError } from '../../lambda/errors.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { ObjectStore } from '../../lambda/store/ObjectStore.ts';
import type { EmbeddedRow } from '../../lambda/types.ts';
import { defaultRowGroupRows, defaultRowsPerPart, PartWriter } from '../../lambda/write/PartWriter.ts';
import { embeddedRow, embeddedRows, TEST_MODEL, useTempDir } from '../helpers/embeddedRows.ts';
import { RecordingLocalStore } from '../helpers/RecordingLocalStore.ts';
import {
  arrowSchema,
  parquetColumnTypes,
  parquetMetadata,
  parquetRowGroups,
  readArrowRows,
  readParquetRows,
} from '../helpers/readOutput.ts';

const CREATED_AT = new Date('2026-01-02T03:04:05.678Z');
const SOURCE = 's3://in/x/y/products.csv';

/** What a part row should hold for a given input row. */
function expected(row: EmbeddedRow, keep: readonly string[] = ['category'], withText = true) {
  return {
    id: row.record.id,
    ...(withText ? { text: row.record.text } : {}),
    ...Object.fromEntries(keep.map((column) => [column, row.record.keep[column] ?? ''])),
    content_hash: row.contentHash,
    embedding: Array.from(row.vector),
  };
}

describe('Class: PartWriter', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  const writer = (
    options: Partial<ConstructorParameters<typeof PartWriter>[2]> = {},
    target: ObjectStore = store,
  ) =>
    new PartWriter(target, dir, {
      model: TEST_MODEL,
      sourceUri: SOURCE,
      createdAt: CREATED_AT,
      keepColumns: ['category'],
      ...options,
    });

  it('writes parts of at most rowsPerPart rows, in row order', async () => {
    // Prepare
    const rows = embeddedRows(25);
    const parts = writer({ rowsPerPart: 10 });

    // Act
    for (const row of rows) await parts.add(row);
    const outputs = await parts.finish();

    // Assess
    expect(outputs.map((o) => [path.basename(o.uri), o.rows])).toEqual([
      ['part-00000.parquet', 10],
      ['part-00001.parquet', 10],
      ['part-00002.parquet', 5],
    ]);
    for (const output of outputs) {
      expect(output.uri).toBe(path.join(dir, path.basename(output.uri)));
      expect(output.bytes).toBe((await readFile(output.uri)).byteLength);
    }
    const read = await readParquetRows(path.join(dir, 'part-*.parquet'), 8);
    expect(read).toEqual(rows.map((row) => expected(row)));
  });

  it('writes the columns and types of the contract, read back by DuckDB', async () => {
    // Prepare
    const parts = writer({ keepColumns: ['category', 'brand'] });
    const rows = [
      embeddedRow(1, { keep: { category: 'shoes', brand: 'ACME' } }),
      embeddedRow(2, { keep: { category: 'hats' } }),
    ];

    // Act
    await parts.addMany(rows);
    await parts.finish();

    // Assess
    const file = path.join(dir, 'part-00000.parquet');
    expect(await parquetColumnTypes(file)).toEqual({
      id: 'VARCHAR',
      text: 'VARCHAR',
      category: 'VARCHAR',
      brand: 'VARCHAR',
      content_hash: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
    expect(await readParquetRows(file, 8)).toEqual([
      expected(rows[0] as EmbeddedRow, ['category', 'brand']),
      // A kept column absent from the record is written as ''.
      { ...expected(rows[1] as EmbeddedRow, ['category', 'brand']), brand: '' },
    ]);
  });

  it('keeps float32 vectors bit for bit', async () => {
    // Prepare
    const rows = embeddedRows(3, { dimensions: 768 });
    rows[0]?.vector.set([Number.MIN_VALUE, -0, 3.4028234663852886e38, 1e-45]);

    // Act
    const parts = writer();
    await parts.addMany(rows);
    await parts.finish();

    // Assess
    const read = await readParquetRows(path.join(dir, 'part-00000.parquet'), 768);
    read.forEach((row, i) => {
      const written = new Float32Array(row.embedding);
      expect(Buffer.from(written.buffer)).toEqual(Buffer.from((rows[i] as EmbeddedRow).vector.buffer));
    });
  });

  it('records model, dimensions, source and created_at in the Parquet metadata', async () => {
    // Act
    const parts = writer();
    await parts.addMany(embeddedRows(2));
    await parts.finish();

    // Assess
    expect(await parquetMetadata(path.join(dir, 'part-00000.parquet'))).toEqual({
      'embedding.model': TEST_MODEL,
      'embedding.dimensions': '8',
      'source.uri': SOURCE,
      created_at: CREATED_AT.toISOString(),
    });
  });

  it('encodes the embedding column with ZSTD and BYTE_STREAM_SPLIT in bounded row groups', async () => {
    // Act
    const parts = writer({ rowsPerPart: 2_500, rowGroupRows: 1_000 });
    await parts.addMany(embeddedRows(2_500));
    await parts.finish();

    // Assess
    const groups = await parquetRowGroups(path.join(dir, 'part-00000.parquet'));
    expect(groups.map((g) => g.rows)).toEqual([1_000, 1_000, 500]);
    for (const group of groups) {
      expect(group.compression).toBe('ZSTD');
      expect(group.encodings).toContain('BYTE_STREAM_SPLIT');
    }
  });

  it('writes PLAIN floats when byteStreamSplit is off', async () => {
    // Act
    const parts = writer({ byteStreamSplit: false });
    await parts.addMany(embeddedRows(10));
    await parts.finish();

    // Assess
    const [group] = await parquetRowGroups(path.join(dir, 'part-00000.parquet'));
    expect(group?.encodings).not.toContain('BYTE_STREAM_SPLIT');
    expect(await readParquetRows(path.join(dir, 'part-00000.parquet'), 8)).toHaveLength(10);
  });

  it('leaves the text column out when includeText is false', async () => {
    // Prepare
    const rows = embeddedRows(4);

    // Act
    const parts = writer({ includeText: false, keepColumns: [], format: 'both' });
    await parts.addMany(rows);
    await parts.finish();

    // Assess
    expect(Object.keys(await parquetColumnTypes(path.join(dir, 'part-00000.parquet')))).toEqual([
      'id',
      'content_hash',
      'embedding',
    ]);
    expect(await readParquetRows(path.join(dir, 'part-00000.parquet'), 8)).toEqual(
      rows.map((row) => expected(row, [], false)),
    );
    expect(await readArrowRows(path.join(dir, 'part-00000.arrow'))).toEqual(
      rows.map((row) => expected(row, [], false)),
    );
  });

  it('writes Arrow IPC files with the contract schema and metadata', async () => {
    // Prepare
    const rows = embeddedRows(7);

    // Act
    const parts = writer({ format: 'arrow', rowsPerPart: 4 });
    await parts.addMany(rows);
    const outputs = await parts.finish();

    // Assess
    expect(outputs.map((o) => [path.basename(o.uri), o.rows])).toEqual([
      ['part-00000.arrow', 4],
      ['part-00001.arrow', 3],
    ]);
    const schema = await arrowSchema(path.join(dir, 'part-00000.arrow'));
    expect(schema.fields).toEqual([
      { name: 'id', type: 'Utf8', nullable: false },
      { name: 'text', type: 'Utf8', nullable: false },
      { name: 'category', type: 'Utf8', nullable: false },
      { name: 'content_hash', type: 'Utf8', nullable: false },
      { name: 'embedding', type: 'FixedSizeList[8]<Float32>', nullable: false },
    ]);
    expect(schema.metadata).toEqual({
      'embedding.model': TEST_MODEL,
      'embedding.dimensions': '8',
      'source.uri': SOURCE,
      created_at: CREATED_AT.toISOString(),
    });
    const read = [
      ...(await readArrowRows(path.join(dir, 'part-00000.arrow'))),
      ...(await readArrowRows(path.join(dir, 'part-00001.arrow'))),
    ];
    expect(read).toEqual(rows.map((row) => expected(row)));
  });

  it('writes both formats part by part when format is both', async () => {
    // Prepare
    const rows = embeddedRows(5);

    // Act
    const parts = writer({ format: 'both', rowsPerPart: 3 });
    await parts.addMany(rows);
    const outputs = await parts.finish();

    // Assess
    expect(outputs.map((o) => [path.basename(o.uri), o.rows])).toEqual([
      ['part-00000.parquet', 3],
      ['part-00000.arrow', 3],
      ['part-00001.parquet', 2],
      ['part-00001.arrow', 2],
    ]);
    const fromParquet = await readParquetRows(path.join(dir, 'part-*.parquet'), 8);
    const fromArrow = [
      ...(await readArrowRows(path.join(dir, 'part-00000.arrow'))),
      ...(await readArrowRows(path.join(dir, 'part-00001.arrow'))),
    ];
    expect(fromParquet).toEqual(rows.map((row) => expected(row)));
    expect(fromArrow).toEqual(fromParquet);
  });

  it('writes no parts when no row was added', async () => {
    // Act
    const outputs = await writer().finish();

    // Assess
    expect(outputs).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('learns the dimensions from the first row and refuses other lengths', async () => {
    // Prepare
    const parts = writer();

    // Act
    await parts.add(embeddedRow(1, { dimensions: 16 }));
    const mismatch = parts.add(embeddedRow(2, { dimensions: 15 }));

    // Assess
    expect(parts.dimensions).toBe(16);
    await expect(mismatch).rejects.toThrow(
      new EmbedBatchError('Record 2 (id "id-2") has a vector of 15 dimensions, expected 16'),
    );
  });

  it('cuts a part early when its strings reach maxPartStringChars', async () => {
    // Prepare
    const rows = embeddedRows(6, { text: 'x'.repeat(1_000) });

    // Act
    const parts = writer({ rowsPerPart: 100, maxPartStringChars: 2_500 });
    await parts.addMany(rows);
    const outputs = await parts.finish();

    // Assess
    expect(outputs.map((o) => o.rows)).toEqual([3, 3]);
  });

  it('has written every full part when add resolves', async () => {
    // Prepare
    const recording = new RecordingLocalStore();
    const parts = writer({ rowsPerPart: 2 }, recording);

    // Act
    await parts.addMany(embeddedRows(5));

    // Assess
    expect(recording.calls).toEqual(['put part-00000.parquet', 'put part-00001.parquet']);
    await parts.finish();
    expect(recording.calls).toEqual([
      'put part-00000.parquet',
      'put part-00001.parquet',
      'put part-00002.parquet',
    ]);
  });

  it('rejects every later call after a failed write', async () => {
    // Prepare
    const failing = { put: async () => Promise.reject(new Error('disk full')) } as unknown as ObjectStore;
    const parts = writer({ rowsPerPart: 1 }, failing);

    // Act
    const first = parts.add(embeddedRow(1));
    const second = parts.add(embeddedRow(2));

    // Assess
    await expect(first).rejects.toThrow('disk full');
    await expect(second).rejects.toThrow('disk full');
    await expect(parts.finish()).rejects.toThrow('disk full');
  });

  it('validates options and kept columns at construction', () => {
    // Act & Assess
    expect(() => writer({ rowsPerPart: 0 })).toThrow(
      new ConfigError('Expected `rowsPerPart` to be a positive integer, got 0'),
    );
    expect(() => writer({ keepColumns: ['content_hash'] })).toThrow(ConfigError);
    expect(() => writer({ keepColumns: ['a', 'a'] })).toThrow(ConfigError);
    expect(() => writer({ format: 'csv' as never })).toThrow(ConfigError);
    // Without a text column, an input column called `text` may be kept.
    expect(() => writer({ includeText: false, keepColumns: ['text'] })).not.toThrow();
  });
});

describe('Function: defaultRowsPerPart', () => {
  it('aims at 32 MiB of floats, clamped to [1 000, 100 000]', () => {
    // Act & Assess
    expect(defaultRowsPerPart(1024)).toBe(8_192);
    expect(defaultRowsPerPart(768)).toBe(10_922);
    expect(defaultRowsPerPart(4)).toBe(100_000);
    expect(defaultRowsPerPart(16_384)).toBe(1_000);
  });
});

describe('Function: defaultRowGroupRows', () => {
  it('aims at 8 MiB of floats, clamped to [1 000, 100 000]', () => {
    // Act & Assess
    expect(defaultRowGroupRows(1024)).toBe(2_048);
    expect(defaultRowGroupRows(4096)).toBe(1_000);
  });
});
