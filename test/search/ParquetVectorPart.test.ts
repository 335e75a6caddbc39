import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Binary,
  Int32,
  Table,
  TimestampMillisecond,
  tableFromIPC,
  tableToIPC,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
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
import { footerLength, type ParquetFooter, parseFooter } from '../../lambda/search/parquet/ParquetFooter.ts';
import { openParquetPart } from '../../lambda/search/parquet/ParquetVectorPart.ts';
import { dataPageOf, pagesOf } from '../../lambda/search/parquet/pageHeaders.ts';
import { cellKindOf, readChunkCells } from '../../lambda/search/parquet/readChunkCells.ts';
import { zstdDecompressor } from '../../lambda/search/parquet/zstdDecompressor.ts';
import { ReadBuffers } from '../../lambda/search/ReadBuffers.ts';
import { plainValue, type RowAddress, type VectorPart } from '../../lambda/search/VectorPart.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { EmbeddedRow } from '../../lambda/types.ts';
import { buildEmbeddingTable } from '../../lambda/write/buildEmbeddingTable.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { decodeParquet } from '../../lambda/write/parquetWasm.ts';
import { EVERY_KEPT_TYPE, everyKeptTypeRows } from '../helpers/everyKeptTypeRows.ts';
import { RecordingStore } from '../helpers/RecordingStore.ts';

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
  const kernel = await VectorKernel.load();
  for await (const batch of part.batches(kernel)) {
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

  it('hands its read buffers on to the next part, which reads its own vectors into them', async () => {
    // Prepare: two parts of different rows, the second opened while the first is scanned (as a search does).
    const first = rows();
    const second = rows().map((row) => ({ ...row, vector: row.vector.map((v) => -v) }));
    const files = [0, 1].map((i) => path.join(dir, `handed-on-${i}.parquet`));
    for (const [i, input] of [first, second].entries()) {
      const table = buildEmbeddingTable(input, layout);
      const properties = VARIANTS['zstd + byte-stream-split (embed-batch), row groups of 10']?.()
        .setKeyValueMetadata(new Map([...table.schema.metadata]))
        .build();
      await writeFile(
        files[i] as string,
        writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties),
      );
    }
    const buffers = new ReadBuffers();
    const handedOut = new Set<Uint8Array>();
    const take = buffers.take.bind(buffers);
    buffers.take = (bytes) => {
      const buffer = take(bytes);
      handedOut.add(buffer);
      return buffer;
    };

    // Act
    const a = await openParquetPart(store, files[0] as string, buffers);
    const opening = openParquetPart(store, files[1] as string, buffers);
    const fromA = await allVectors(a);
    const fromB = await allVectors(await opening);

    // Assess: 11 row groups each, and no more buffers than are in use at once.
    expect(fromA.vectors).toEqual(first.map((row) => Array.from(row.vector)));
    expect(fromB.vectors).toEqual(second.map((row) => Array.from(row.vector)));
    expect(fromA.groups + fromB.groups).toBe(22);
    expect(handedOut.size).toBeLessThanOrEqual(3);
  });

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

/** Parses a whole Parquet file's footer. */
function footerOf(bytes: Uint8Array): ParquetFooter {
  const length = footerLength(bytes.subarray(bytes.byteLength - 8));
  return parseFooter(bytes.subarray(bytes.byteLength - 8 - length, bytes.byteLength - 8));
}

/**
 * The independent reader: parquet-wasm decodes the whole file, apache-arrow
 * reads each cell, `plainValue` makes it JSON (what `columnsOf` returned
 * before it had a cell reader of its own).
 */
function expectedCells(
  bytes: Uint8Array,
  footer: ParquetFooter,
): (name: string, address: RowAddress) => unknown {
  const table = tableFromIPC(decodeParquet(bytes));
  const firstRows = footer.rowGroups.map((_, g) =>
    footer.rowGroups.slice(0, g).reduce((sum, group) => sum + group.rows, 0),
  );
  return (name, { group, row }) => {
    const column = table.getChild(name);
    if (column === null) throw new Error(`the independent reader has no column ${name}`);
    return plainValue(column.get((firstRows[group] as number) + row));
  };
}

/** Rows of every kept type, and a nullable Utf8 column (embed-batch writes none: a foreign file may). */
function everyTypeTable(count: number): Table {
  const table = buildEmbeddingTable(everyKeptTypeRows(count), {
    ...layout,
    dimensions: 4,
    keepColumns: EVERY_KEPT_TYPE,
  });
  const notes = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? null : `note ${i} ✓`));
  return table.assign(new Table({ note: vectorFromArray(notes, new Utf8()) }));
}

/** Columns a search returns from `everyTypeTable`, in file order. */
const EVERY_TYPE_COLUMNS = ['id', 'text', 'colour', 'price', 'count', 'inStock', 'tags', 'note'];

/**
 * Writers of row groups of 100 rows (the last of 50) in pages of one write
 * batch (a few rows) each, but for snappy; and the columns the cell reader reads.
 */
const CELL_VARIANTS: Record<
  string,
  {
    readonly settings: () => WriterPropertiesBuilder;
    readonly read: string[];
    /** Data page versions and encodings of the text and boolean columns. */
    readonly pages: string[];
  }
> = {
  'plain, uncompressed, pages of a few rows': {
    settings: () =>
      new WriterPropertiesBuilder()
        .setCompression(Compression.UNCOMPRESSED)
        .setDictionaryEnabled(false)
        .setWriteBatchSize(7)
        .setDataPageSizeLimit(1),
    read: ['id', 'text', 'colour', 'price', 'count', 'inStock', 'content_hash', 'note'],
    pages: ['inStock v1 PLAIN', 'text v1 PLAIN'],
  },
  'dictionaries, zstd, pages of a few rows': {
    settings: () =>
      new WriterPropertiesBuilder()
        .setCompression(Compression.ZSTD)
        .setDictionaryEnabled(true)
        .setWriteBatchSize(7)
        .setDataPageSizeLimit(1),
    read: ['id', 'text', 'colour', 'price', 'count', 'inStock', 'content_hash', 'note'],
    pages: ['inStock v1 PLAIN', 'text v1 RLE_DICTIONARY'],
  },
  'dictionaries that overflow to plain pages mid-chunk, zstd': {
    settings: () =>
      new WriterPropertiesBuilder()
        .setCompression(Compression.ZSTD)
        .setDictionaryEnabled(true)
        .setDictionaryPageSizeLimit(200)
        .setWriteBatchSize(5)
        .setDataPageSizeLimit(1),
    read: ['id', 'text', 'colour', 'price', 'count', 'inStock', 'content_hash', 'note'],
    pages: ['inStock v1 PLAIN', 'text v1 PLAIN', 'text v1 RLE_DICTIONARY'],
  },
  'plain, zstd, data page v2, pages of a few rows': {
    settings: () =>
      new WriterPropertiesBuilder()
        .setCompression(Compression.ZSTD)
        .setWriterVersion(WriterVersion.V2)
        .setEncoding(Encoding.PLAIN)
        .setDictionaryEnabled(false)
        .setWriteBatchSize(7)
        .setDataPageSizeLimit(1),
    read: ['id', 'text', 'colour', 'price', 'count', 'inStock', 'content_hash', 'note'],
    pages: ['inStock v2 PLAIN', 'text v2 PLAIN'],
  },
  'dictionaries and RLE booleans, uncompressed, data page v2': {
    settings: () =>
      new WriterPropertiesBuilder()
        .setCompression(Compression.UNCOMPRESSED)
        .setWriterVersion(WriterVersion.V2)
        .setDictionaryEnabled(true)
        .setWriteBatchSize(7)
        .setDataPageSizeLimit(1),
    read: ['id', 'text', 'colour', 'price', 'count', 'inStock', 'content_hash', 'note'],
    pages: ['inStock v2 RLE', 'text v2 RLE_DICTIONARY'],
  },
  'data page v2 defaults: delta-encoded strings and integers (read by the general reader)': {
    settings: () =>
      new WriterPropertiesBuilder()
        .setCompression(Compression.ZSTD)
        .setWriterVersion(WriterVersion.V2)
        .setDictionaryEnabled(false)
        .setWriteBatchSize(7)
        .setDataPageSizeLimit(1),
    read: ['price', 'inStock'],
    pages: ['inStock v2 RLE', 'text v2 DELTA_BYTE_ARRAY'],
  },
  'snappy (read by the general reader)': {
    settings: () => new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setWriteBatchSize(7),
    read: [],
    pages: ['inStock v1 PLAIN', 'text v1 RLE_DICTIONARY'],
  },
};

function writeEveryType(settings: () => WriterPropertiesBuilder, rows = 250): Uint8Array {
  const table = everyTypeTable(rows);
  const properties = settings()
    .setMaxRowGroupSize(100)
    .setKeyValueMetadata(new Map([...table.schema.metadata]))
    .build();
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties);
}

/** First rows of a chunk's data pages, from their headers. */
function pageStarts(chunk: Uint8Array): number[] {
  const starts: number[] = [];
  let row = 0;
  for (const page of pagesOf(chunk)) {
    const data = page === undefined ? undefined : dataPageOf(page);
    if (data === undefined) continue;
    starts.push(row);
    row += data.numRows;
  }
  return starts;
}

const ENCODING_NAMES: Record<number, string> = {
  0: 'PLAIN',
  3: 'RLE',
  5: 'DELTA_BINARY_PACKED',
  7: 'DELTA_BYTE_ARRAY',
  8: 'RLE_DICTIONARY',
};

/** The data pages' versions and encodings, e.g. `v1 PLAIN`. */
function pageEncodings(chunk: Uint8Array): Set<string> {
  const found = new Set<string>();
  for (const page of pagesOf(chunk)) {
    const data = page === undefined ? undefined : dataPageOf(page);
    if (data !== undefined)
      found.add(`v${data.version} ${ENCODING_NAMES[data.encoding as number] ?? data.encoding}`);
  }
  return found;
}

/** Row sets to ask for: every row at once, each row alone, pairs across each page boundary, a row twice. */
function rowSets(rows: number, starts: readonly number[]): number[][] {
  return [
    Array.from({ length: rows }, (_, i) => i),
    ...Array.from({ length: rows }, (_, i) => [i]),
    ...starts.filter((start) => start > 0).map((start) => [start - 1, start]),
    [0, 3, 3, rows - 1],
  ];
}

describe('Function: readChunkCells', () => {
  for (const [name, variant] of Object.entries(CELL_VARIANTS)) {
    it(`reads any rows' cells as parquet-wasm does, nulls and page boundaries included, from a file written with ${name}`, async () => {
      // Prepare
      const bytes = writeEveryType(variant.settings);
      const footer = footerOf(bytes);
      const expected = expectedCells(bytes, footer);
      const zstd = await zstdDecompressor();
      const read = new Set<string>();
      const declined = new Set<string>();
      const pages: Record<string, number> = {};
      const encodings = new Set<string>();

      // Act, Assess
      for (const [group, rowGroup] of footer.rowGroups.entries()) {
        for (const chunk of rowGroup.columns) {
          const column = chunk.path.split('.')[0] as string;
          const leaf = footer.leaves.get(chunk.path);
          if (column === 'embedding' || leaf === undefined) continue;
          const bytesOfChunk = bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes);
          const starts = pageStarts(bytesOfChunk);
          if (group === 0) pages[column] = starts.length;
          if (group === 0 && (column === 'text' || column === 'inStock')) {
            for (const encoding of pageEncodings(bytesOfChunk)) encodings.add(`${column} ${encoding}`);
          }
          for (const rows of rowSets(rowGroup.rows, starts)) {
            const cells = readChunkCells(bytesOfChunk, chunk, leaf, rows, zstd);
            if (cells === undefined) {
              declined.add(column);
            } else {
              read.add(column);
              expect(cells, `${column}, rows ${rows.join(',')} of group ${group}`).toEqual(
                rows.map((row) => expected(column, { group, row })),
              );
            }
          }
        }
      }
      // The List<Utf8> column and the others' declines are all-or-nothing, never some row sets only.
      expect([...read].sort()).toEqual([...variant.read].sort());
      expect([...declined].filter((column) => read.has(column))).toEqual([]);
      expect(declined.has('tags')).toBe(true);
      expect([...encodings].sort()).toEqual(variant.pages);
      if (variant.read.length > 0) {
        expect(Math.min(...variant.read.map((column) => pages[column] ?? 0))).toBeGreaterThan(3);
      }
    });
  }

  it('decodes a big PLAIN ZSTD page only as far as the wanted rows lie, however long the texts before them', async () => {
    // Prepare: one page of 2,000 texts, the first 1,000 long (so a row's place in the page misjudges
    // where its text lies), the others short
    const random = createRandom(3);
    const texts = Array.from({ length: 2000 }, (_, i) =>
      i < 1000
        ? `${i} ${Math.floor(random() * 1e12)
            .toString(36)
            .repeat(150)}`
        : `short ${i}`,
    );
    const table = new Table({
      id: vectorFromArray(
        texts.map((_, i) => `r${i}`),
        new Utf8(),
      ),
      text: vectorFromArray(texts, new Utf8()),
    });
    const properties = new WriterPropertiesBuilder()
      .setCompression(Compression.ZSTD)
      .setDictionaryEnabled(false)
      .setDataPageSizeLimit(8 * 1024 * 1024)
      .build();
    const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream')), properties);
    const footer = footerOf(bytes);
    const chunk = footer.rowGroups[0]?.columns.find((c) => c.path === 'text');
    const leaf = footer.leaves.get('text');
    if (chunk === undefined || leaf === undefined) throw new Error('no text chunk');
    const bytesOfChunk = bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes);
    expect(pageEncodings(bytesOfChunk)).toEqual(new Set(['v1 PLAIN']));
    expect(pageStarts(bytesOfChunk)).toEqual([0]);
    const pageSize = [...pagesOf(bytesOfChunk)][0]?.uncompressedSize ?? 0;
    // The decoder, every prefix it hands out recorded.
    const wasm = await zstdDecompressor();
    const partial = wasm.partial;
    let prefixes: number[] = [];
    const recording = Object.assign((data: Uint8Array, size: number) => wasm(data, size), {
      partial: (data: Uint8Array, size: number) => {
        const frame = partial(data, size);
        return {
          upTo: (wanted: number) => {
            const prefix = frame.upTo(wanted);
            prefixes.push(prefix?.byteLength ?? -1);
            return prefix;
          },
        };
      },
    });
    const read = (rows: number[]): { cells: unknown[] | undefined; prefixes: number[] } => {
      prefixes = [];
      return { cells: readChunkCells(bytesOfChunk, chunk, leaf, rows, recording), prefixes };
    };

    // Act
    const first = read([0]);
    const lastLong = read([999]);
    const firstShort = read([1000, 1001]);
    const all = read(texts.map((_, i) => i));

    // Assess: the right texts; the first row from the page's first block or so, the others after one or
    // more tries, never more than the page
    expect(first.cells).toEqual([texts[0]]);
    expect(first.prefixes).toHaveLength(1);
    expect(first.prefixes[0]).toBeLessThan(pageSize / 4);
    expect(lastLong.cells).toEqual([texts[999]]);
    expect(lastLong.prefixes.length).toBeGreaterThan(1);
    expect(firstShort.cells).toEqual([texts[1000], texts[1001]]);
    expect(all.cells).toEqual(texts);
    expect(all.prefixes.at(-1)).toBe(pageSize);
    expect(Math.max(...lastLong.prefixes, ...firstShort.prefixes)).toBeLessThanOrEqual(pageSize);
    expect(Math.min(...lastLong.prefixes, ...firstShort.prefixes)).toBeGreaterThan(0);
  });

  it('reads a row of the last, short row group, returns undefined for rows past it, and refuses rows out of order', async () => {
    // Prepare
    const bytes = writeEveryType(() => new WriterPropertiesBuilder().setCompression(Compression.ZSTD));
    const footer = footerOf(bytes);
    const chunk = footer.rowGroups[2]?.columns.find((c) => c.path === 'text');
    const leaf = footer.leaves.get('text');
    if (chunk === undefined || leaf === undefined) throw new Error('no text chunk');
    const bytesOfChunk = bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes);
    const zstd = await zstdDecompressor();

    // Act, Assess
    expect(readChunkCells(bytesOfChunk, chunk, leaf, [49], zstd)).toEqual([expect.stringMatching(/^249: /)]);
    expect(readChunkCells(bytesOfChunk, chunk, leaf, [10, 50], zstd)).toBeUndefined();
    expect(() => readChunkCells(bytesOfChunk, chunk, leaf, [5, 4], zstd)).toThrow(
      'Expected `rows` to be ascending row indexes, got 4 at 1',
    );
  });
});

describe('Function: openParquetPart (columnsOf, every kept type)', () => {
  for (const [name, variant] of Object.entries(CELL_VARIANTS)) {
    it(`returns the winners' columns, in file order, as parquet-wasm reads them, from a file written with ${name}`, async () => {
      // Prepare
      const bytes = writeEveryType(variant.settings);
      const file = path.join(dir, `every-type-${name.replace(/\W+/g, '-')}.parquet`);
      await writeFile(file, bytes);
      const expected = expectedCells(bytes, footerOf(bytes));
      // Rows all over, out of order, one twice.
      const addresses: RowAddress[] = [
        ...[2, 1, 0].flatMap((group) =>
          Array.from({ length: group === 2 ? 17 : 34 }, (_, i) => ({ group, row: (i * 3 + group) % 100 })),
        ),
        { group: 1, row: 5 },
      ];

      // Act
      const part = await openParquetPart(store, file);
      const columns = await part.columnsOf(addresses);

      // Assess
      expect(columns).toEqual(
        addresses.map((address) =>
          Object.fromEntries(EVERY_TYPE_COLUMNS.map((column) => [column, expected(column, address)])),
        ),
      );
      for (const row of columns) expect(Object.keys(row)).toEqual(EVERY_TYPE_COLUMNS);
    });
  }
});

describe('Function: openParquetPart (columnsOf, on the files embed-batch writes)', () => {
  /** Writes rows through the real PartWriter: row groups of 3,000 rows, texts long enough for two pages each. */
  async function writePart(keepColumns: readonly string[], name: string): Promise<string> {
    const folder = path.join(dir, name);
    const writer = new PartWriter(store, folder, {
      model: 'test/model',
      sourceUri: 'in.csv',
      createdAt: '2026-01-01T00:00:00.000Z',
      keepColumns,
      dimensions: 4,
      rowGroupRows: 3_000,
    });
    await writer.addMany(everyKeptTypeRows(7_000, { textChars: 600 }));
    const [part] = await writer.finish();
    if (part === undefined) throw new Error('no part written');
    return part.uri;
  }

  it('reads every returned column of every row group by the cell reader, never opening parquet-wasm', async () => {
    // Prepare
    const keep = EVERY_KEPT_TYPE.filter((column) => !column.endsWith(':list'));
    const uri = await writePart(keep, 'embed-batch-no-list');
    const bytes = await store.readRange(uri, 0, (await store.head(uri))?.bytes ?? 0);
    const footer = footerOf(bytes);
    const expected = expectedCells(bytes, footer);
    const zstd = await zstdDecompressor();
    const counting = new RecordingStore();
    // Row groups of 3,000, 3,000 and 1,000 rows; texts of 1 MB and more from row 2,048 on are in a second page.
    const addresses = [0, 1, 2].flatMap((group) =>
      (group < 2 ? [0, 2047, 2048, 2999] : [0, 999]).map((row) => ({ group, row })),
    );
    const names = ['id', 'text', 'colour', 'price', 'count', 'inStock'];

    // Act
    const columns = await (await openParquetPart(counting, uri)).columnsOf(addresses);
    const declined = footer.rowGroups.flatMap((group, g) =>
      group.columns
        .filter((chunk) => chunk.path !== 'embedding.list.item')
        .filter((chunk) => {
          const leaf = footer.leaves.get(chunk.path);
          const bytesOfChunk = bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes);
          return (
            leaf === undefined ||
            readChunkCells(bytesOfChunk, chunk, leaf, [0, group.rows - 1], zstd) === undefined
          );
        })
        .map((chunk) => `${chunk.path} of group ${g}`),
    );
    const textPages = footer.rowGroups.map((group) => {
      const chunk = group.columns.find((c) => c.path === 'text');
      return chunk === undefined
        ? 0
        : pageStarts(bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes)).length;
    });

    // Assess
    expect(declined).toEqual([]);
    expect(counting.blobs).toBe(0);
    expect(textPages).toEqual([2, 2, 1]);
    expect(columns).toEqual(
      addresses.map((address) =>
        Object.fromEntries(names.map((column) => [column, expected(column, address)])),
      ),
    );
  });

  it("reads the winners' pages of every row group at once (on S3, round trips in parallel)", async () => {
    // Prepare: the part opened and its reads settled, then winners in all three row groups
    const keep = EVERY_KEPT_TYPE.filter((column) => !column.endsWith(':list'));
    const uri = await writePart(keep, 'embed-batch-at-once');
    const counting = new RecordingStore();
    const part = await openParquetPart(counting, uri);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const footer = footerOf(await store.readRange(uri, 0, (await store.head(uri))?.bytes ?? 0));
    const runsPerGroup = footer.rowGroups.map((group) => {
      // Returned columns before the embedding chunk are one read, those after it another.
      const paths = group.columns.map((c) => c.path);
      const embedding = paths.indexOf('embedding.list.item');
      const returned = (from: number, to: number) =>
        paths.slice(from, to).some((p) => p !== 'content_hash' && !p.startsWith('embedding'));
      return (returned(0, embedding) ? 1 : 0) + (returned(embedding + 1, paths.length) ? 1 : 0);
    });
    counting.mostAtOnce = 0;

    // Act
    await part.columnsOf([0, 1, 2].map((group) => ({ group, row: 0 })));

    // Assess
    expect(runsPerGroup.every((runs) => runs >= 1)).toBe(true);
    expect(counting.mostAtOnce).toBe(runsPerGroup.reduce((sum, runs) => sum + runs, 0));
    expect(counting.reading).toBe(0);
  });

  it('reads a List<Utf8> kept column by parquet-wasm, the others by the cell reader', async () => {
    // Prepare
    const uri = await writePart(EVERY_KEPT_TYPE, 'embed-batch-list');
    const bytes = await store.readRange(uri, 0, (await store.head(uri))?.bytes ?? 0);
    const expected = expectedCells(bytes, footerOf(bytes));
    const counting = new RecordingStore();
    const addresses = [2, 0].flatMap((group) => [999, 6, 1500].map((row) => ({ group, row })));
    const names = ['id', 'text', 'colour', 'price', 'count', 'inStock', 'tags'];

    // Act
    const columns = await (await openParquetPart(counting, uri)).columnsOf(addresses);

    // Assess
    expect(counting.blobs).toBe(1);
    expect(columns).toEqual(
      addresses.map((address) =>
        Object.fromEntries(names.map((column) => [column, expected(column, address)])),
      ),
    );
    expect(columns.slice(0, 2)).toMatchObject([
      { id: 'id-6999', tags: [] },
      { id: 'id-6006', tags: null },
    ]);
  });
});

describe('Function: cellKindOf', () => {
  const flat = { maxRepetition: 0, maxDefinition: 1 };

  it('takes the types parquet-wasm reads as strings, doubles, signed 64-bit integers and booleans', () => {
    // Act, Assess
    expect(cellKindOf('id', { ...flat, type: 6, convertedType: 0, logicalType: { kind: 1 } })).toBe('utf8');
    expect(cellKindOf('id', { ...flat, type: 6, convertedType: 0 })).toBe('utf8');
    expect(cellKindOf('n', { ...flat, type: 2 })).toBe('int64');
    expect(cellKindOf('n', { ...flat, type: 2, convertedType: 18 })).toBe('int64');
    expect(cellKindOf('n', { ...flat, type: 2, logicalType: { kind: 10, bitWidth: 64, signed: true } })).toBe(
      'int64',
    );
    expect(cellKindOf('x', { ...flat, type: 5 })).toBe('float64');
    expect(cellKindOf('b', { maxRepetition: 0, maxDefinition: 0, type: 0 })).toBe('bool');
  });

  it('declines bytes, other logical types, unsigned integers, other widths, and nested or repeated leaves', () => {
    // Act, Assess
    expect(cellKindOf('bytes', { ...flat, type: 6 })).toBeUndefined();
    expect(cellKindOf('json', { ...flat, type: 6, logicalType: { kind: 12 } })).toBeUndefined();
    expect(
      cellKindOf('u', { ...flat, type: 2, logicalType: { kind: 10, bitWidth: 64, signed: false } }),
    ).toBe(undefined);
    expect(cellKindOf('u', { ...flat, type: 2, convertedType: 14 })).toBeUndefined();
    expect(cellKindOf('ts', { ...flat, type: 2, logicalType: { kind: 8 } })).toBeUndefined();
    expect(cellKindOf('i', { ...flat, type: 1 })).toBeUndefined();
    expect(cellKindOf('f', { ...flat, type: 4 })).toBeUndefined();
    expect(
      cellKindOf('tags.list.item', { maxRepetition: 1, maxDefinition: 2, type: 6, convertedType: 0 }),
    ).toBe(undefined);
    expect(cellKindOf('s.a', { ...flat, type: 5 })).toBeUndefined();
    expect(cellKindOf('x', { maxRepetition: 0, maxDefinition: 2, type: 5 })).toBeUndefined();
  });

  it("leaves a foreign file's unsigned, timestamp, binary and Int32 columns to parquet-wasm, which columnsOf then uses", async () => {
    // Prepare
    const count = ROWS;
    const extra = new Table({
      unsigned: vectorFromArray(
        Array.from({ length: count }, (_, i) => 2n ** 64n - 1n - BigInt(i)),
        new Uint64(),
      ),
      stamp: vectorFromArray(
        Array.from({ length: count }, (_, i) => 1_700_000_000_000 + i),
        new TimestampMillisecond(),
      ),
      bytes: vectorFromArray(
        Array.from({ length: count }, (_, i) => Uint8Array.of(i, 255)),
        new Binary(),
      ),
      small: vectorFromArray(
        Array.from({ length: count }, (_, i) => i - 50),
        new Int32(),
      ),
    });
    const table = buildEmbeddingTable(rows(), layout).assign(extra);
    const bytes = writeParquet(
      WasmTable.fromIPCStream(tableToIPC(table, 'stream')),
      new WriterPropertiesBuilder().setCompression(Compression.ZSTD).setMaxRowGroupSize(40).build(),
    );
    const file = path.join(dir, 'foreign-types.parquet');
    await writeFile(file, bytes);
    const footer = footerOf(bytes);
    const expected = expectedCells(bytes, footer);
    const addresses = [
      { group: 1, row: 7 },
      { group: 0, row: 39 },
      { group: 2, row: 22 },
    ];
    const names = ['id', 'text', 'colour', 'price', 'unsigned', 'stamp', 'bytes', 'small'];

    // Act
    const kinds = Object.fromEntries(
      [...footer.leaves].map(([leafPath, leaf]) => [leafPath, cellKindOf(leafPath, leaf) ?? null]),
    );
    const columns = await (await openParquetPart(store, file)).columnsOf(addresses);

    // Assess
    expect(kinds).toEqual({
      id: 'utf8',
      text: 'utf8',
      colour: 'utf8',
      price: 'float64',
      content_hash: 'utf8',
      'embedding.list.item': null,
      unsigned: null,
      stamp: null,
      bytes: null,
      small: null,
    });
    expect(columns).toEqual(
      addresses.map((address) => Object.fromEntries(names.map((name) => [name, expected(name, address)]))),
    );
    expect(footer.leaves.get('unsigned')).toMatchObject({
      maxDefinition: 1,
      type: 2,
      logicalType: { kind: 10, bitWidth: 64, signed: false },
    });
    expect(columns[0]).toMatchObject({ id: 'id-47', unsigned: '18446744073709551568', small: -3 });
  });
});
