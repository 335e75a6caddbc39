import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../lambda/errors.ts';
import { PreviousOutput } from '../../lambda/reuse/PreviousOutput.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { ObjectStore } from '../../lambda/store/ObjectStore.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import type { EmbeddedRow, OutputFormat } from '../../lambda/types.ts';
import { contentHash } from '../../lambda/write/contentHash.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { embeddedRows, TEST_MODEL, useTempDir } from '../helpers/embeddedRows.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

/** The rows in parts of 40 (row groups of 16); returns the part URIs. */
async function writeParts(
  store: ObjectStore,
  dir: string,
  rows: readonly EmbeddedRow[],
  format: OutputFormat,
): Promise<string[]> {
  const parts = new PartWriter(store, dir, {
    model: TEST_MODEL,
    sourceUri: 'in.csv',
    format,
    rowsPerPart: 40,
    rowGroupRows: 16,
  });
  await parts.addMany(rows);
  return (await parts.finish()).map((part) => part.uri);
}

describe('Class: PreviousOutput', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it.each(['parquet', 'arrow'] as const)(
    'lends every earlier row of a %s output its vector, in row order and out of it, across parts',
    async (format) => {
      // Prepare: 5 parts, more than it keeps decoded, so later lookups go back to dropped ones.
      const rows = embeddedRows(190, { dimensions: 6 });
      const uris = await writeParts(store, dir, rows, format);
      expect(uris).toHaveLength(5);
      const previous = await PreviousOutput.over(store, uris);
      const order = [...rows.keys(), ...[...rows.keys()].reverse(), 5, 150, 7, 189, 0];

      // Act
      const found = [];
      for (const i of order) found.push(await previous?.lookup(rows[i]?.contentHash ?? ''));

      // Assess
      expect(previous?.size).toBe(190);
      expect(found).toEqual(order.map((i) => rows[i]?.vector));
    },
  );

  it('decodes a part once when many lookups ask for it at the same time', async () => {
    // Prepare: a store that counts how often each part is opened (a head before each decode)
    const rows = embeddedRows(80, { dimensions: 6 });
    const uris = await writeParts(store, dir, rows, 'parquet');
    const heads = new Map<string, number>();
    const counting: ObjectStore = Object.create(store, {
      head: {
        value: (uri: string) => {
          heads.set(uri, (heads.get(uri) ?? 0) + 1);
          return store.head(uri);
        },
      },
    });
    const concurrent = await PreviousOutput.over(counting, uris);
    heads.clear();

    // Act: every row of both parts at once
    const found = await Promise.all(rows.map((row) => concurrent?.lookup(row.contentHash)));

    // Assess
    expect(found).toEqual(rows.map((row) => row.vector));
    expect(concurrent?.size).toBe(80);
    expect(Object.fromEntries(heads)).toEqual({ [uris[0] as string]: 1, [uris[1] as string]: 1 });
  });

  it('lends nothing for a text it does not hold, nor for a hash that only starts like one it holds', async () => {
    // Prepare
    const rows = embeddedRows(50, { dimensions: 6 });
    const previous = await PreviousOutput.over(store, await writeParts(store, dir, rows, 'parquet'));
    const held = rows[3]?.contentHash ?? '';
    // Same 16-digit index key, another hash after it.
    const lookalike = `${held.slice(0, 16)}${held.slice(16).replace(/./g, (c) => (c === '0' ? '1' : '0'))}`;

    // Act
    const unknown = await previous?.lookup(contentHash(TEST_MODEL, 'never written'));
    const alike = await previous?.lookup(lookalike);

    // Assess
    expect(lookalike).not.toBe(held);
    expect(unknown).toBeUndefined();
    expect(alike).toBeUndefined();
    expect(await previous?.lookup(held)).toEqual(rows[3]?.vector);
  });

  it('throws an InputError when it opens over a file that is not a part', async () => {
    // Prepare
    const uris = await writeParts(store, dir, embeddedRows(10), 'parquet');
    const bogus = path.join(dir, 'part-00009.parquet');
    await store.put(bogus, 'not parquet');

    // Act & Assess
    await expect(PreviousOutput.over(store, [...uris, bogus])).rejects.toBeInstanceOf(InputError);
  });

  describe('on S3 (no Blob: each part comes whole through get)', () => {
    let s3: LocalS3;
    beforeAll(async () => {
      s3 = await startLocalS3();
      await s3.createBucket('earlier');
    });
    afterAll(async () => {
      await s3.stop();
    });

    it('lends the vectors of an s3:// output', async () => {
      // Prepare
      const s3Store = new S3Store(s3.client);
      const rows = embeddedRows(90, { dimensions: 6 });
      const uris = await writeParts(s3Store, 's3://earlier/out', rows, 'parquet');

      // Act
      const previous = await PreviousOutput.over(s3Store, uris);
      const found = [];
      for (const row of rows) found.push(await previous?.lookup(row.contentHash));

      // Assess
      expect((s3Store as ObjectStore).openBlob).toBeUndefined();
      expect(found).toEqual(rows.map((row) => row.vector));
    });
  });
});
