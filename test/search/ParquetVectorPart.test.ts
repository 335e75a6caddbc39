import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tableToIPC } from 'apache-arrow';
import {
  Compression,
  Encoding,
  Table as WasmTable,
  WriterPropertiesBuilder,
  WriterVersion,
  writeParquet,
} from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../bench/generateInput.ts';
import { openArrowPart } from '../../lambda/search/arrow/ArrowVectorPart.ts';
import { VectorKernel } from '../../lambda/search/kernel/VectorKernel.ts';
import { decodeFloatChunk } from '../../lambda/search/parquet/decodeFloatChunk.ts';
import { footerLength, parseFooter } from '../../lambda/search/parquet/ParquetFooter.ts';
import { openParquetPart } from '../../lambda/search/parquet/ParquetVectorPart.ts';
import { zstdDecompressor } from '../../lambda/search/parquet/zstdDecompressor.ts';
import type { VectorPart } from '../../lambda/search/VectorPart.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { EmbeddedRow } from '../../lambda/types.ts';
import { buildEmbeddingTable } from '../../lambda/write/buildEmbeddingTable.ts';

const DIMENSIONS = 12;
const ROWS = 103;
let dir: string;
const store = new LocalStore();

/** Rows with dense random vectors, a kept string and a kept number column. */
function rows(): EmbeddedRow[] {
  const random = createRandom(9);
  return Array.from({ length: ROWS }, (_, i) => ({
    record: {
      record: i + 1,
      id: `id-${i}`,
      text: `text ${i}`,
      keep: { colour: ['red', 'blue'][i % 2] ?? '', price: i / 4 },
    },
    contentHash: `hash-${i}`,
    vector: Float32Array.from({ length: DIMENSIONS }, () => random() * 2 - 1),
  }));
}

const layout = {
  model: 'test/model',
  dimensions: DIMENSIONS,
  sourceUri: 'in.csv',
  createdAt: '2026-01-01T00:00:00.000Z',
  includeText: true,
  keepColumns: ['colour', 'price:number'],
};

/** The writer settings embed-batch uses (ZSTD, byte-stream-split) and others a foreign writer may pick. */
const VARIANTS: Record<string, () => WriterPropertiesBuilder> = {
  'zstd + byte-stream-split (embed-batch), row groups of 10': () =>
    new WriterPropertiesBuilder()
      .setCompression(Compression.ZSTD)
      .setEncoding(Encoding.BYTE_STREAM_SPLIT)
      .setColumnEncoding('id', Encoding.PLAIN)
      .setColumnEncoding('text', Encoding.PLAIN)
      .setColumnEncoding('content_hash', Encoding.PLAIN)
      .setColumnEncoding('colour', Encoding.PLAIN)
      .setDictionaryEnabled(false)
      .setMaxRowGroupSize(10),
  'uncompressed + plain, small pages': () =>
    new WriterPropertiesBuilder()
      .setCompression(Compression.UNCOMPRESSED)
      .setDictionaryEnabled(false)
      .setDataPageSizeLimit(256),
  'zstd, data page v2': () =>
    new WriterPropertiesBuilder()
      .setCompression(Compression.ZSTD)
      .setDictionaryEnabled(false)
      .setWriterVersion(WriterVersion.V2)
      .setMaxRowGroupSize(40),
  'snappy (read by the general reader)': () =>
    new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setDictionaryEnabled(false),
  'dictionary-encoded floats (read by the general reader)': () =>
    new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setDictionaryEnabled(true),
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'embed-batch-parquet-part-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function allVectors(part: VectorPart): Promise<{ vectors: number[][]; groups: number }> {
  const vectors: number[][] = [];
  const groups = new Set<number>();
  for await (const batch of part.batches()) {
    groups.add(batch.group);
    for (let r = 0; r < batch.rows; r++) {
      const start = batch.offset + r * part.dimensions;
      vectors.push(Array.from(batch.values.subarray(start, start + part.dimensions)));
    }
  }
  return { vectors, groups: groups.size };
}

describe('Function: openParquetPart', () => {
  for (const [name, settings] of Object.entries(VARIANTS)) {
    it(`reads every vector exactly, and the winners' columns, from a file written with ${name}`, async () => {
      // Prepare
      const input = rows();
      const table = buildEmbeddingTable(input, layout);
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.parquet`);
      const properties = settings()
        .setKeyValueMetadata(new Map([...table.schema.metadata]))
        .build();
      await writeFile(file, writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties));

      // Act
      const part = await openParquetPart(store, file);
      const { vectors } = await allVectors(part);
      const columns = await part.columnsOf([
        { group: 0, row: 0 },
        { group: 0, row: 3 },
      ]);

      // Assess
      expect(part).toMatchObject({ model: 'test/model', dimensions: DIMENSIONS, rows: ROWS });
      expect(vectors).toEqual(input.map((row) => Array.from(row.vector)));
      expect(columns).toEqual([
        { id: 'id-0', text: 'text 0', colour: 'red', price: 0 },
        { id: 'id-3', text: 'text 3', colour: 'blue', price: 0.75 },
      ]);
    });
  }

  it('refuses a file that is not Parquet, naming it', async () => {
    // Prepare
    const file = path.join(dir, 'not.parquet');
    await writeFile(file, 'id,text\n1,hello\n');

    // Act, Assess
    await expect(openParquetPart(store, file)).rejects.toThrow(/not\.parquet: not a readable Parquet file/);
  });
});

describe('Function: openArrowPart', () => {
  it('hands out the record batches vectors in place, and the winners columns', async () => {
    // Prepare
    const input = rows();
    const file = path.join(dir, 'part.arrow');
    await writeFile(file, tableToIPC(buildEmbeddingTable(input, layout), 'file'));

    // Act
    const part = await openArrowPart(store, file);
    const { vectors } = await allVectors(part);
    const [columns] = await part.columnsOf([{ group: 0, row: 5 }]);

    // Assess
    expect(part).toMatchObject({ model: 'test/model', dimensions: DIMENSIONS, rows: ROWS });
    expect(vectors).toEqual(input.map((row) => Array.from(row.vector)));
    expect(columns).toEqual({ id: 'id-5', text: 'text 5', colour: 'blue', price: 1.25 });
  });
});

describe('Function: decodeFloatChunk', () => {
  it('decodes the chunks embed-batch writes and declines those it does not handle', async () => {
    // Prepare
    const input = rows();
    const table = buildEmbeddingTable(input, layout);
    const decoded: Record<string, boolean> = {};
    const zstd = await zstdDecompressor();
    const kernel = await VectorKernel.load();

    // Act
    for (const [name, settings] of Object.entries(VARIANTS)) {
      const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), settings().build());
      const tail = bytes.subarray(bytes.byteLength - 8);
      const length = footerLength(tail);
      const footer = parseFooter(bytes.subarray(bytes.byteLength - 8 - length, bytes.byteLength - 8));
      const group = footer.rowGroups[0];
      const chunk = group?.columns.find((c) => c.path.startsWith('embedding'));
      const levels = chunk === undefined ? undefined : footer.leaves.get(chunk.path);
      if (group === undefined || chunk === undefined || levels === undefined)
        throw new Error('no embedding chunk');
      const expected = group.rows * DIMENSIONS;
      kernel.prepare(group.rows, DIMENSIONS);
      decoded[name] = decodeFloatChunk(
        bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes),
        chunk,
        levels,
        expected,
        kernel,
        zstd,
      );
      if (decoded[name]) {
        const want = input.slice(0, group.rows).flatMap((row) => Array.from(row.vector));
        expect(Array.from(kernel.vectors())).toEqual(want);
      }
    }

    // Assess
    expect(decoded).toEqual({
      'zstd + byte-stream-split (embed-batch), row groups of 10': true,
      'uncompressed + plain, small pages': true,
      'zstd, data page v2': true,
      'snappy (read by the general reader)': false,
      'dictionary-encoded floats (read by the general reader)': false,
    });
  });
});
