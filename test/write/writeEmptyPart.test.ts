import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { expectedDimensions, writeEmptyPart } from '../../lambda/write/writeEmptyPart.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';
import { arrowSchema, parquetColumnTypes, parquetMetadata, readParquetRows } from '../helpers/readOutput.ts';

let dir: string;
useTempDir((made) => {
  dir = made;
});

describe('Function: writeEmptyPart', () => {
  it('writes one empty Parquet and Arrow part with the full schema, which readers of part-* can open', async () => {
    // Prepare, Act
    const files = await writeEmptyPart(new LocalStore(), dir, {
      format: 'both',
      model: 'BAAI/bge-m3',
      sourceUri: 's3://b/input/x.csv',
      keepColumns: ['category'],
      createdAt: '2026-12-01T00:00:00.000Z',
    });

    // Assess
    expect(files).toEqual([
      { uri: path.join(dir, 'part-00000.parquet'), rows: 0, bytes: expect.any(Number) },
      { uri: path.join(dir, 'part-00000.arrow'), rows: 0, bytes: expect.any(Number) },
    ]);
    const glob = path.join(dir, 'part-*.parquet');
    expect(await readParquetRows(glob, 1024)).toEqual([]);
    expect(await parquetColumnTypes(glob)).toEqual({
      id: 'VARCHAR',
      text: 'VARCHAR',
      category: 'VARCHAR',
      content_hash: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
    expect(await parquetMetadata(path.join(dir, 'part-00000.parquet'))).toMatchObject({
      'embedding.model': 'BAAI/bge-m3',
      'embedding.dimensions': '1024',
    });
    const arrow = await arrowSchema(path.join(dir, 'part-00000.arrow'));
    expect(arrow.fields.at(-1)).toMatchObject({ name: 'embedding', type: 'FixedSizeList[1024]<Float32>' });
  });

  it('writes nothing for a model whose dimension nobody knows, rather than paying a probe request', async () => {
    // Prepare, Act
    const files = await writeEmptyPart(new LocalStore(), dir, { model: 'acme/unknown', sourceUri: 'x.csv' });

    // Assess
    expect(files).toEqual([]);
  });

  it.each([
    ['BAAI/bge-m3', undefined, 1024],
    ['local/feature-hash', undefined, 384],
    ['local/feature-hash', 64, 64],
    ['acme/unknown', undefined, undefined],
  ])('expects %s (asked for %s) to have %s dimensions', (model, requested, dimensions) => {
    // Prepare, Act, Assess
    expect(expectedDimensions(model, requested)).toBe(dimensions);
  });

  it('refuses an empty part without a dimension', () => {
    // Prepare, Act
    const act = () => new PartWriter(new LocalStore(), dir, { model: 'm', sourceUri: 'x', emptyPart: true });

    // Assess
    expect(act).toThrow(ConfigError);
  });
});
