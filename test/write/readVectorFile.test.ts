import path from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../lambda/errors.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { encodeParquet } from '../../lambda/write/parquetWasm.ts';
import { readContentHashes, readVectorFile } from '../../lambda/write/readVectorFile.ts';
import { writeEmptyPart } from '../../lambda/write/writeEmptyPart.ts';
import { embeddedRows, TEST_MODEL, useTempDir } from '../helpers/embeddedRows.ts';

describe('Function: readVectorFile', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it.each(['parquet', 'arrow'] as const)('reads a %s part back row by row', async (format) => {
    // Prepare
    const rows = embeddedRows(2_500, { dimensions: 12 });
    const parts = new PartWriter(store, dir, {
      model: TEST_MODEL,
      sourceUri: 'in.csv',
      format,
      rowGroupRows: 1_000,
    });
    await parts.addMany(rows);
    const [output] = await parts.finish();

    // Act
    const file = await readVectorFile(store, output?.uri ?? '');

    // Assess
    expect(file).toMatchObject({ model: TEST_MODEL, dimensions: 12, rows: 2_500 });
    expect(file.metadata.get('source.uri')).toBe('in.csv');
    for (const i of [0, 999, 1_000, 2_499]) {
      const row = rows[i];
      expect(file.id(i)).toBe(row?.record.id);
      expect(file.text(i)).toBe(row?.record.text);
      expect(file.embedding(i)).toEqual(row?.vector);
    }
  });

  it('gives undefined texts for a file written without them', async () => {
    // Prepare
    const parts = new PartWriter(store, dir, { model: TEST_MODEL, sourceUri: 'in.csv', includeText: false });
    await parts.addMany(embeddedRows(2));
    const [output] = await parts.finish();

    // Act
    const file = await readVectorFile(store, output?.uri ?? '');

    // Assess
    expect(file.text(0)).toBeUndefined();
    expect(file.id(1)).toBe('id-2');
  });

  it('throws an InputError for a file that is not a part', async () => {
    // Prepare
    const uri = path.join(dir, 'bogus.parquet');
    await store.put(uri, 'not parquet');

    // Act & Assess
    await expect(readVectorFile(store, uri)).rejects.toBeInstanceOf(InputError);
    await expect(readVectorFile(store, path.join(dir, 'missing.arrow'))).rejects.toBeInstanceOf(InputError);
  });
});

describe('Function: readContentHashes', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it.each(['parquet', 'arrow'] as const)(
    'gives every row hash of a %s part in row order, across row groups',
    async (format) => {
      // Prepare
      const rows = embeddedRows(2_500, { dimensions: 12 });
      const parts = new PartWriter(store, dir, {
        model: TEST_MODEL,
        sourceUri: 'in.csv',
        format,
        rowGroupRows: 1_000,
      });
      await parts.addMany(rows);
      const [output] = await parts.finish();

      // Act
      const hashes = await readContentHashes(store, output?.uri ?? '');

      // Assess
      expect(hashes).toEqual(rows.map((row) => row.contentHash));
    },
  );

  it('gives no hashes for the empty part of an output without rows', async () => {
    // Prepare
    const [output] = await writeEmptyPart(store, dir, {
      model: TEST_MODEL,
      sourceUri: 'in.csv',
      dimensions: 4,
    });

    // Act
    const hashes = await readContentHashes(store, output?.uri ?? '');

    // Assess
    expect(hashes).toEqual([]);
  });

  it('throws an InputError for a file that is not a part, as readVectorFile does', async () => {
    // Prepare
    const bogus = path.join(dir, 'bogus.parquet');
    await store.put(bogus, 'not parquet');
    const rows = embeddedRows(3);
    const parts = new PartWriter(store, dir, { model: TEST_MODEL, sourceUri: 'in.csv' });
    await parts.addMany(rows);
    const [output] = await parts.finish();
    // A real Parquet file, but not a part: its only column is content_hash.
    const hashesOnly = path.join(dir, 'hashes-only.parquet');
    const ipc = tableToIPC(tableFromArrays({ content_hash: rows.map((row) => row.contentHash) }), 'stream');
    await store.put(
      hashesOnly,
      encodeParquet(ipc, {
        rowGroupRows: 10,
        metadata: new Map(),
        utf8Columns: ['content_hash'],
        dictionaryColumns: [],
        statisticsColumns: [],
        byteStreamSplit: false,
      }),
    );

    // Act & Assess
    expect(await readContentHashes(store, output?.uri ?? '')).toHaveLength(3);
    await expect(readContentHashes(store, hashesOnly)).rejects.toThrow(/not an embed-batch part/);
    for (const uri of [
      bogus,
      hashesOnly,
      path.join(dir, 'missing.parquet'),
      path.join(dir, 'missing.arrow'),
    ]) {
      await expect(readContentHashes(store, uri)).rejects.toBeInstanceOf(InputError);
    }
  });
});
