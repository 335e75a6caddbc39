import { describe, expect, it } from 'vitest';
import { ConfigError, EmbedBatchError } from '../../lambda/errors.ts';
import {
  buildEmbeddingTable,
  type EmbeddingTableLayout,
  utf8Data,
  validateLayout,
} from '../../lambda/write/buildEmbeddingTable.ts';
import { embeddedRow, embeddedRows, TEST_MODEL } from '../helpers/embeddedRows.ts';

const LAYOUT: EmbeddingTableLayout = {
  model: TEST_MODEL,
  dimensions: 8,
  sourceUri: 'in.csv',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  includeText: true,
  keepColumns: ['category'],
};

describe('Function: buildEmbeddingTable', () => {
  it('builds the contract columns in order, with one float buffer for the vectors', () => {
    // Prepare
    const rows = embeddedRows(3);

    // Act
    const table = buildEmbeddingTable(rows, LAYOUT);

    // Assess
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'id:Utf8',
      'text:Utf8',
      'category:Utf8',
      'content_hash:Utf8',
      'embedding:FixedSizeList[8]<Float32>',
    ]);
    const embedding = table.getChild('embedding');
    if (embedding === null) throw new Error('no embedding column');
    const child = embedding.data[0]?.children[0];
    expect(child?.values).toBeInstanceOf(Float32Array);
    expect(child?.values.length).toBe(24);
    expect((embedding.type as { children: { name: string; nullable: boolean }[] }).children[0]).toMatchObject(
      {
        name: 'item',
        nullable: false,
      },
    );
    expect(Array.from(embedding.get(2) ?? [])).toEqual(Array.from(rows[2]?.vector ?? []));
    expect(table.getChild('text')?.get(1)).toBe(rows[1]?.record.text);
    expect(Object.fromEntries(table.schema.metadata)).toEqual({
      'embedding.model': TEST_MODEL,
      'embedding.dimensions': '8',
      'source.uri': 'in.csv',
      created_at: '2026-01-01T00:00:00.000Z',
    });
  });

  it('refuses a vector of the wrong length', () => {
    // Act & Assess
    expect(() => buildEmbeddingTable([embeddedRow(4, { dimensions: 7 })], LAYOUT)).toThrow(EmbedBatchError);
  });
});

describe('Function: utf8Data', () => {
  it('encodes strings as UTF-8 with Int32 offsets', () => {
    // Act
    const data = utf8Data(['', 'a', 'é', '🚀']);

    // Assess
    expect(Array.from(data.valueOffsets)).toEqual([0, 0, 1, 3, 7]);
    expect(Buffer.from(data.values).toString('utf8')).toBe('aé🚀');
  });
});

describe('Function: validateLayout', () => {
  it('refuses kept columns that clash with output columns', () => {
    // Act & Assess
    expect(() => validateLayout({ ...LAYOUT, keepColumns: ['embedding'] })).toThrow(
      new ConfigError('Kept column "embedding" clashes with an output column of that name'),
    );
    expect(() => validateLayout({ ...LAYOUT, dimensions: 0 })).toThrow(ConfigError);
  });
});
