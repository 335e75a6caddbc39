import { describe, expect, it } from 'vitest';
import { InputError } from '../../lambda/errors.ts';
import {
  accepted,
  chunked,
  expectEachRecordOnce,
  readAll,
  readFixture,
  rejected,
} from '../helpers/readFixtures.ts';

describe('Function: readRecords (CSV)', () => {
  it('reads the quick-start products file', async () => {
    // Prepare, Act
    const results = await readFixture('products.csv', { keepColumns: ['title', 'category'] });

    // Assess
    expectEachRecordOnce(results, 40);
    expect(rejected(results)).toEqual([]);
    expect(accepted(results)[0]).toEqual({
      record: 1,
      line: 2,
      id: 'P-1001',
      text: 'Lightweight trail running shoe with a grippy rubber outsole, rock plate and breathable mesh upper.',
      keep: { title: 'Trail Running Shoe', category: 'footwear' },
    });
  });

  it('strips a UTF-8 BOM and reads CRLF line endings', async () => {
    // Prepare, Act
    const results = await readFixture('bom-crlf.csv', { keepColumns: ['category'] });

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results)).toEqual([
      { record: 1, line: 2, id: '1', text: 'Red apple', keep: { category: 'fruit' } },
      { record: 2, line: 3, id: '2', text: 'Green pear, ripe', keep: { category: 'fruit' } },
      { record: 3, line: 4, id: '3', text: 'Carrot', keep: { category: 'vegetable' } },
    ]);
  });

  it('reads mixed line endings (CRLF, LF, CR) in one file', async () => {
    // Prepare, Act
    const results = await readFixture('mixed-line-endings.csv');

    // Assess
    expectEachRecordOnce(results, 5);
    expect(accepted(results).map(({ line, text }) => [line, text])).toEqual([
      [2, 'alpha'],
      [3, 'beta'],
      [4, 'gamma'],
      [5, 'delta'],
      [6, 'epsilon'],
    ]);
  });

  it('keeps newlines inside quoted fields and numbers lines from where each record starts', async () => {
    // Prepare, Act
    const results = await readFixture('quoted-newlines.csv');

    // Assess
    expectEachRecordOnce(results, 4);
    expect(accepted(results).map(({ line, text }) => [line, text])).toEqual([
      [2, 'first line\nsecond line'],
      [4, 'windows\r\nline break\r\nhere'],
      [7, 'plain'],
      [9, 'last'],
    ]);
  });

  it('reads quoted commas and doubled quotes', async () => {
    // Prepare, Act
    const results = await readFixture('quoted-commas.csv');

    // Assess
    expectEachRecordOnce(results, 5);
    expect(accepted(results).map((record) => record.text)).toEqual([
      'apples, pears, and plums',
      'she said "hello", then left',
      '"',
      'ends with a comma,',
      ',,,',
    ]);
  });

  it('keeps a stray quote inside a field as text instead of failing', async () => {
    // Prepare, Act
    const results = await readFixture('stray-quote.csv');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results).map((record) => record.text)).toEqual([
      'a 12" pizza',
      '"quoted"and more',
      'plain',
    ]);
  });

  it('skips blank and whitespace-only lines, which are not records, but counts them as lines', async () => {
    // Prepare, Act
    const results = await readFixture('blank-lines.csv');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results).map(({ record, line, text }) => [record, line, text])).toEqual([
      [1, 5, 'one'],
      [2, 7, 'two'],
      [3, 10, 'three'],
    ]);
  });

  it('reads a last line without a newline', async () => {
    // Prepare, Act
    const results = await readFixture('no-trailing-newline.csv');

    // Assess
    expectEachRecordOnce(results, 2);
    expect(accepted(results).map((record) => record.text)).toEqual(['one', 'two, quoted']);
  });

  it('rejects ragged rows and carries on', async () => {
    // Prepare, Act
    const results = await readFixture('ragged-rows.csv');

    // Assess
    expectEachRecordOnce(results, 5);
    expect(accepted(results).map((record) => record.id)).toEqual(['1', '4']);
    expect(rejected(results)).toEqual([
      { record: 2, line: 3, reason: 'record 2 (line 3): expected 3 fields as in the header, got 2' },
      { record: 3, line: 4, reason: 'record 3 (line 4): expected 3 fields as in the header, got 5' },
      { record: 5, line: 6, reason: 'record 5 (line 6): expected 3 fields as in the header, got 1' },
    ]);
  });

  it('rejects empty and whitespace-only text, naming record, line and column', async () => {
    // Prepare, Act
    const results = await readFixture('empty-text.csv');

    // Assess
    expectEachRecordOnce(results, 6);
    expect(rejected(results)).toEqual(
      [1, 2, 3, 5].map((record) => ({
        record,
        line: record + 1,
        id: String(record),
        reason: `record ${record} (line ${record + 1}), column "text": empty text`,
      })),
    );
    // Text that merely has spaces around it is kept exactly as written.
    expect(accepted(results).map((record) => record.text)).toEqual(['real text', '  padded  ']);
  });

  it('fails at once when the header has no text column, listing the columns it has', async () => {
    // Prepare, Act
    const act = readFixture('missing-text-column.csv');

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(
      'missing-text-column.csv: no column "text" in the header; columns are: id, title, body (use --text-column)',
    );
  });

  it('reads the text from the column named by textColumn', async () => {
    // Prepare, Act
    const results = await readFixture('missing-text-column.csv', { textColumn: 'body' });

    // Assess
    expect(accepted(results).map((record) => record.text)).toEqual(['A running shoe.']);
  });

  it('fails when a kept column is missing from the header, naming --keep-columns', async () => {
    // Prepare, Act
    const act = readFixture('products.csv', { keepColumns: ['category', 'price'] });

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(
      'products.csv: no column "price" in the header; columns are: id, title, text, category (check --keep-columns)',
    );
  });

  it('fails when the text column appears twice in the header', async () => {
    // Prepare, Act
    const act = readFixture('duplicate-text-column.csv');

    // Assess
    await expect(act).rejects.toThrow('column "text" appears more than once in the header');
  });

  it('uses the record number as id when the header has no id column', async () => {
    // Prepare, Act
    const results = await readFixture('missing-id-column.csv');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results).map((record) => record.id)).toEqual(['1', '2', '3']);
  });

  it('carries kept columns as strings, in the order asked for', async () => {
    // Prepare, Act
    const results = await readFixture('products.csv', { keepColumns: ['category', 'title'] });

    // Assess
    const last = accepted(results).at(-1);
    expect(last?.keep).toEqual({ category: 'grocery', title: 'Olive Oil 1 L' });
    expect(Object.keys(last?.keep ?? {})).toEqual(['category', 'title']);
  });

  it('rejects records with invalid UTF-8 anywhere, but keeps a genuine U+FFFD', async () => {
    // Prepare, Act
    const results = await readFixture('invalid-utf8.csv');

    // Assess
    expectEachRecordOnce(results, 8);
    expect(accepted(results).map((record) => record.text)).toEqual([
      'café 🍕',
      'real replacement \uFFFD char',
    ]);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 2 (line 3), column "text": invalid UTF-8 bytes',
      'record 3 (line 4), column "category": invalid UTF-8 bytes',
      'record 4 (line 5), column "text": invalid UTF-8 bytes',
      'record 5 (line 6), column "text": invalid UTF-8 bytes',
      'record 7 (line 8), column "id": invalid UTF-8 bytes',
      'record 8 (line 9), column "text": invalid UTF-8 bytes',
    ]);
    // The id is known when its own bytes are fine.
    expect(rejected(results).map((r) => r.id)).toEqual(['2', '3', '4', '5', undefined, '8']);
  });

  it('fails when the header itself is not valid UTF-8', async () => {
    // Prepare, Act
    const act = readFixture('invalid-utf8-header.csv');

    // Assess
    await expect(act).rejects.toThrow('invalid-utf8-header.csv: the header row is not valid UTF-8');
  });

  it('rejects records over maxRecordBytes and carries on', async () => {
    // Prepare, Act
    const results = await readFixture('oversize-record.csv', { maxRecordBytes: 100 });

    // Assess
    expectEachRecordOnce(results, 4);
    expect(accepted(results).map((record) => record.id)).toEqual(['1', '4']);
    expect(rejected(results)).toEqual([
      {
        record: 2,
        line: 3,
        id: '2',
        reason: 'record 2 (line 3): 302 bytes, over the limit of 100 (maxRecordBytes)',
      },
      {
        record: 3,
        line: 4,
        id: '3',
        reason: 'record 3 (line 4): 121 bytes, over the limit of 100 (maxRecordBytes)',
      },
    ]);
  });

  it('accepts a record of exactly 1 MiB by default and rejects one byte more', async () => {
    // Prepare
    const atLimit = 'a'.repeat(1_048_576 - 1);
    const body = chunked(Buffer.from(`id,text\n1,${atLimit}\n2,${atLimit}b\n`), 65_536);

    // Act
    const results = await readAll(body, { source: 'big.csv', format: 'csv', gzip: false });

    // Assess
    expectEachRecordOnce(results, 2);
    expect(accepted(results).map((record) => record.id)).toEqual(['1']);
    expect(rejected(results)[0]?.reason).toBe(
      'record 2 (line 3): 1048577 bytes, over the limit of 1048576 (maxRecordBytes)',
    );
  });

  it('reads a headerless shard with csvHeader, recordOffset and lineOffset', async () => {
    // Prepare
    const options = { csvHeader: ['id', 'text', 'category'], recordOffset: 40, lineOffset: 41 };

    // Act
    const results = await readFixture('shard-no-header.csv', { ...options, keepColumns: ['category'] });

    // Assess
    expectEachRecordOnce(results, 4, 40);
    expect(accepted(results)).toEqual([
      { record: 41, line: 42, id: '41', text: 'forty-one', keep: { category: 'a' } },
      { record: 42, line: 43, id: '42', text: 'forty,two', keep: { category: 'b' } },
    ]);
    expect(rejected(results)).toEqual([
      { record: 43, line: 44, id: '43', reason: 'record 43 (line 44), column "text": empty text' },
      { record: 44, line: 45, reason: 'record 44 (line 45): expected 3 fields as in the header, got 2' },
    ]);
  });

  it('numbers records of a headerless shard without an id column from recordOffset', async () => {
    // Prepare
    const body = chunked(Buffer.from('first\nsecond\n'));

    // Act
    const results = await readAll(body, {
      source: 'shard',
      format: 'csv',
      gzip: false,
      csvHeader: ['text'],
      recordOffset: 1000,
    });

    // Assess
    expect(accepted(results).map(({ record, line, id }) => [record, line, id])).toEqual([
      [1001, 1, '1001'],
      [1002, 2, '1002'],
    ]);
  });

  it('checks csvHeader for the text column before reading', async () => {
    // Prepare
    const body = chunked(Buffer.from('1,a\n'));

    // Act
    const act = readAll(body, { source: 'shard.csv', format: 'csv', gzip: false, csvHeader: ['id', 'body'] });

    // Assess
    await expect(act).rejects.toThrow('shard.csv: no column "text" in the header; columns are: id, body');
  });

  it('reads an empty file and a header-only file as no records', async () => {
    // Prepare, Act
    const empty = await readFixture('empty.csv');
    const headerOnly = await readFixture('header-only.csv');

    // Assess
    expect(empty).toEqual([]);
    expect(headerOnly).toEqual([]);
  });

  it('fails on a quote that is never closed', async () => {
    // Prepare, Act
    const act = readFixture('unclosed-quote.csv');

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(
      'unclosed-quote.csv: unreadable CSV: Quote Not Closed: a quoted field is still open at the end of the file; the row starts on line 3',
    );
  });

  it('fails rather than buffer without bound when a quote swallows the rest of a huge file', async () => {
    // Prepare: an opening quote, then 80 MiB without a closing one.
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('id,text\n1,"starts here\n');
      const block = Buffer.alloc(1_048_576, 'x');
      for (let i = 0; i < 80; i++) yield block;
    }

    // Act
    const act = readAll(body(), { source: 'runaway.csv', format: 'csv', gzip: false });

    // Assess
    await expect(act).rejects.toThrow(
      `runaway.csv: unreadable CSV: Max Record Size: a row over ${64 * 1_048_576} bytes (a quote left open?); the row starts on line 2`,
    );
  });
});
