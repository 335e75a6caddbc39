import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Int32,
  makeData,
  makeVector,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { openArrowPart } from '../../lambda/search/arrow/ArrowVectorPart.ts';
import { VectorKernel } from '../../lambda/search/kernel/VectorKernel.ts';
import { plainValue, type RowAddress, UNRETURNED_COLUMNS } from '../../lambda/search/VectorPart.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';
import { EVERY_KEPT_TYPE, everyKeptTypeRows } from '../helpers/everyKeptTypeRows.ts';
import { RecordingStore } from '../helpers/RecordingStore.ts';

/** `floats` as a FixedSizeList<Float32> of `size`, as another writer would make it. */
function vectorsOf(floats: Float32Array, size: number) {
  const child = makeData({ type: new Float32(), length: floats.length, nullCount: 0, data: floats });
  return makeVector(
    makeData({
      type: new FixedSizeList(size, new Field('item', new Float32(), false)),
      length: floats.length / size,
      nullCount: 0,
      child,
    }),
  );
}

/** An Arrow part as embed-batch writes it: `rows` rows of every kept type but lists (or with them). */
async function writeArrowPart(dir: string, rows: number, keep: readonly string[]): Promise<string> {
  const writer = new PartWriter(new LocalStore(), dir, {
    model: 'test/model',
    sourceUri: 'in.csv',
    format: 'arrow',
    keepColumns: [...keep],
    dimensions: 6,
  });
  await writer.addMany(everyKeptTypeRows(rows, { dimensions: 6 }));
  const [part] = await writer.finish();
  if (part === undefined) throw new Error('no part written');
  return part.uri;
}

/** What apache-arrow reads of the file: each batch's flat vectors, and a cell by address. */
async function independently(uri: string, dimensions = 6) {
  const table = tableFromIPC(await readFile(uri));
  const vectors = table.batches.map((batch) => {
    const list = batch.getChild('embedding')?.data[0];
    const child = list?.children[0];
    const values = child?.values as Float32Array;
    if (values === undefined) return [];
    return Array.from(values.subarray(child?.offset ?? 0, (child?.offset ?? 0) + batch.numRows * dimensions));
  });
  const names = table.schema.fields.map((f) => f.name).filter((name) => !UNRETURNED_COLUMNS.has(name));
  const cells = ({ group, row }: RowAddress) =>
    Object.fromEntries(
      names.map((name) => [name, plainValue(table.batches[group]?.getChild(name)?.get(row))]),
    );
  return { table, vectors, cells };
}

describe('Function: openArrowPart', () => {
  let dir: string;
  useTempDir((made) => {
    dir = made;
  });

  it('reads the vectors and the winners cells by range, as apache-arrow reads them, without reading the file whole', async () => {
    // Prepare
    // 3,000 rows: a file well past the 64 KiB read from its end at first.
    const uri = await writeArrowPart(
      dir,
      3000,
      EVERY_KEPT_TYPE.filter((c) => !c.endsWith(':list')),
    );
    const size = (await new LocalStore().head(uri))?.bytes ?? 0;
    const store = new RecordingStore();
    const expected = await independently(uri);
    const addresses: RowAddress[] = [2999, 0, 17, 5, 1500, 5, 42].map((row) => ({ group: 0, row }));

    // Act
    const part = await openArrowPart(store, uri);
    const kernel = await VectorKernel.load();
    const vectors: number[][] = [];
    for await (const batch of part.batches(kernel)) {
      vectors.push(
        Array.from(batch.values.subarray(batch.offset, batch.offset + batch.rows * part.dimensions)),
      );
    }
    const columns = await part.columnsOf(addresses);

    // Assess
    expect(part).toMatchObject({ model: 'test/model', dimensions: 6, rows: 3000 });
    expect(vectors).toEqual(expected.vectors);
    expect(columns).toEqual(addresses.map(expected.cells));
    expect(Object.keys(columns[0] ?? {})).toEqual(['id', 'text', 'colour', 'price', 'count', 'inStock']);
    expect(size).toBeGreaterThan(200_000);
    expect(Math.max(...store.reads.map((read) => read.length))).toBeLessThan(size / 2);
  });

  it('reads a list column of the winners through apache-arrow, the same cells', async () => {
    // Prepare
    const uri = await writeArrowPart(dir, 40, EVERY_KEPT_TYPE);
    const expected = await independently(uri);
    const addresses = [0, 1, 7, 39].map((row) => ({ group: 0, row }));

    // Act
    const columns = await (await openArrowPart(new LocalStore(), uri)).columnsOf(addresses);

    // Assess
    expect(columns).toEqual(addresses.map(expected.cells));
    expect(columns.map((c) => c.tags)).toEqual([null, ['tag-1'], ['tag-2'], []]);
  });

  it('reads a file it does not lay out (a dictionary column, several batches) through apache-arrow, the same rows', async () => {
    // Prepare: another writer's file, its strings dictionary-encoded, in two record batches
    const rows = 10;
    const floats = Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i));
    const embedding = vectorsOf(floats, 3);
    const colour = vectorFromArray(
      Array.from({ length: rows }, (_, i) => ['red', 'blue'][i % 2]),
      new Dictionary(new Utf8(), new Int32()),
    );
    const whole = new Table({
      id: vectorFromArray(Array.from({ length: rows }, (_, i) => `r${i}`)),
      embedding,
      colour,
    });
    const twoBatches = new Table([...whole.slice(0, 4).batches, ...whole.slice(4).batches]);
    const uri = path.join(dir, 'foreign.arrow');
    await writeFile(uri, tableToIPC(twoBatches, 'file'));
    const expected = await independently(uri);

    // Act
    const part = await openArrowPart(new LocalStore(), uri);
    const kernel = await VectorKernel.load();
    let scanned = 0;
    for await (const batch of part.batches(kernel)) scanned += batch.rows;
    const columns = await part.columnsOf([{ group: 1, row: 2 }]);

    // Assess
    expect(twoBatches.batches).toHaveLength(2);
    expect(scanned).toBe(rows);
    expect(columns).toEqual([expected.cells({ group: 1, row: 2 })]);
    expect(columns[0]).toMatchObject({ id: 'r6', colour: 'red' });
  });

  it('reads each of several record batches by range, one read ahead, as apache-arrow reads them', async () => {
    // Prepare: another writer's file of three batches, one of them empty, of the types laid out here
    const rows = 12;
    const floats = Float32Array.from({ length: rows * 3 }, (_, i) => Math.cos(i));
    const embedding = vectorsOf(floats, 3);
    const whole = new Table({
      id: vectorFromArray(
        Array.from({ length: rows }, (_, i) => `r${i}`),
        new Utf8(),
      ),
      embedding,
    });
    const batches = [...whole.slice(0, 5).batches, ...whole.slice(5, 5).batches, ...whole.slice(5).batches];
    const uri = path.join(dir, 'batches.arrow');
    await writeFile(uri, tableToIPC(new Table(batches), 'file'));
    const expected = await independently(uri, 3);
    const store = new RecordingStore();

    // Act
    const part = await openArrowPart(store, uri);
    const kernel = await VectorKernel.load();
    const seen: { group: number; vectors: number[] }[] = [];
    for await (const batch of part.batches(kernel)) {
      seen.push({
        group: batch.group,
        vectors: Array.from(batch.values.subarray(batch.offset, batch.offset + batch.rows * 3)),
      });
    }
    const columns = await part.columnsOf([
      { group: 2, row: 6 },
      { group: 0, row: 0 },
    ]);

    // Assess: the empty batch is skipped, the groups keep their numbers
    expect(new Table(batches).batches.map((b) => b.numRows)).toEqual([5, 0, 7]);
    expect(seen).toEqual([
      { group: 0, vectors: expected.vectors[0] },
      { group: 2, vectors: expected.vectors[2] },
    ]);
    expect(columns).toEqual([{ id: 'r11' }, { id: 'r0' }]);
    // Laid out, not read whole: the vectors came in reads of their own size.
    expect(store.reads.map((read) => read.length)).toEqual(expect.arrayContaining([5 * 3 * 4, 7 * 3 * 4]));
  });

  it('refuses a part whose vectors run past its end, naming it, instead of scoring stale memory', async () => {
    // Prepare: a part whose footer still describes vectors the file no longer holds
    const uri = await writeArrowPart(dir, 3000, ['colour']);
    const bytes = await readFile(uri);
    const cut = path.join(dir, 'cut.arrow');
    const store = new LocalStore();
    const part = await openArrowPart(store, uri);
    const kernel = await VectorKernel.load();
    for await (const _ of part.batches(kernel)) {
      // fills the read buffers with this part's vectors
    }
    const footerAt =
      bytes.byteLength -
      10 -
      new DataView(bytes.buffer, bytes.byteOffset).getInt32(bytes.byteLength - 10, true);
    // Keep the header of the one batch and the footer, drop most of the body between.
    await writeFile(cut, Buffer.concat([bytes.subarray(0, 4096), bytes.subarray(footerAt)]));

    // Act
    const scan = async () => {
      const cutPart = await openArrowPart(store, cut);
      for await (const _ of cutPart.batches(kernel)) {
        // nothing: it must throw first
      }
    };

    // Assess
    await expect(scan()).rejects.toThrow(`${cut}: record batch 0 ends before its vectors do`);
  });

  it('refuses a file that is not an embed-batch part, naming it', async () => {
    // Prepare
    const uri = path.join(dir, 'no-vectors.arrow');
    await writeFile(uri, tableToIPC(new Table({ id: vectorFromArray(['a', 'b']) }), 'file'));

    // Act & Assess
    await expect(openArrowPart(new LocalStore(), uri)).rejects.toThrow(
      `${uri}: no id and FixedSizeList embedding columns`,
    );
  });
});
