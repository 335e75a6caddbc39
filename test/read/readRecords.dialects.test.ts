import { describe, expect, it } from 'vitest';
import { InputError } from '../../lambda/errors.ts';
import { type ReaderOptions, readRecords } from '../../lambda/read/readRecords.ts';
import {
  accepted,
  chunked,
  expectEachRecordOnce,
  fixtureBytes,
  readAll,
  readFixture,
  rejected,
} from '../helpers/readFixtures.ts';

/** Reads a fixture and collects what the reader said on its own (`onNotice`). */
async function readWithNotices(name: string, options: Partial<ReaderOptions> = {}, chunkSize?: number) {
  const notices: string[] = [];
  const results = await readFixture(name, { ...options, onNotice: (m) => notices.push(m) }, chunkSize);
  return { results, notices };
}

/** What Excel shows for fixtures/semicolon-cp1252.csv (and semicolon.csv). */
const EXCEL_SEMICOLON_ROWS = [
  { id: '1', text: 'Wasserkocher aus Edelstahl, 1,7 l', keep: { category: 'Küche', price: '29,99 €' } },
  { id: '2', text: 'Größe: 42; Farbe "Weiß"', keep: { category: 'Schuhe', price: '59,00 €' } },
  { id: '3', text: 'Crème brûlée – Förmchen (4 Stück)', keep: { category: 'Küche', price: '12,50 €' } },
];

const rowsOf = (results: Awaited<ReturnType<typeof readFixture>>) =>
  accepted(results).map(({ id, text, keep }) => ({ id, text, keep }));

describe('Function: readRecords (CSV dialects and encodings)', () => {
  it.each([1, 7, Number.POSITIVE_INFINITY])(
    'reads an Excel semicolon file in windows-1252 with the delimiter sniffed (chunks of %d bytes)',
    async (chunkSize) => {
      // Prepare, Act
      const { results, notices } = await readWithNotices(
        'semicolon-cp1252.csv',
        { encoding: 'windows-1252', keepColumns: ['category', 'price'] },
        chunkSize,
      );

      // Assess
      expectEachRecordOnce(results, 3);
      expect(rowsOf(results)).toEqual(EXCEL_SEMICOLON_ROWS);
      expect(notices).toEqual([
        'semicolon-cp1252.csv: columns separated by ";" (seen in the header; --delimiter sets it)',
      ]);
    },
  );

  it('reads the same semicolon file saved as UTF-8', async () => {
    // Prepare, Act
    const { results } = await readWithNotices('semicolon.csv', { keepColumns: ['category', 'price'] });

    // Assess
    expect(rowsOf(results)).toEqual(EXCEL_SEMICOLON_ROWS);
  });

  it('rejects windows-1252 text read as UTF-8 record by record, never as U+FFFD', async () => {
    // Prepare, Act
    const { results } = await readWithNotices('semicolon-cp1252.csv');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 1 (line 2), column "category": invalid UTF-8 bytes',
      'record 2 (line 3), column "text": invalid UTF-8 bytes',
      'record 3 (line 4), column "text": invalid UTF-8 bytes',
    ]);
  });

  it('names the delimiter the header looks split by when the one given is wrong', async () => {
    // Prepare, Act
    const act = readWithNotices('semicolon.csv', { delimiter: ',' });

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(
      'semicolon.csv: no column "text" in the header; columns are: id;text;category;price (use --text-column); the header looks ";"-separated: use --delimiter \';\'',
    );
  });

  it('reads a .tsv as tab-separated: commas and semicolons are text, a quoted field holds a tab', async () => {
    // Prepare, Act
    const { results, notices } = await readWithNotices('tab-separated.tsv', { keepColumns: ['category'] });

    // Assess
    expectEachRecordOnce(results, 3);
    expect(rowsOf(results)).toEqual([
      { id: '1', text: 'Kettle, electric; 1.7 l', keep: { category: 'kitchen' } },
      { id: '2', text: 'A quoted\ttab and "quotes"', keep: { category: 'books' } },
      { id: '3', text: 'plain text', keep: { category: 'garden' } },
    ]);
    // Tab came from the name, not from a guess: nothing to say.
    expect(notices).toEqual([]);
  });

  it('sniffs a pipe-separated file', async () => {
    // Prepare, Act
    const { results, notices } = await readWithNotices('pipe-separated.csv', { keepColumns: ['note'] });

    // Assess
    expect(rowsOf(results)).toEqual([
      { id: '1', text: 'first, with a comma', keep: { note: 'a' } },
      { id: '2', text: 'second; with a semicolon', keep: { note: 'b' } },
    ]);
    expect(notices).toEqual([
      'pipe-separated.csv: columns separated by "|" (seen in the header; --delimiter sets it)',
    ]);
  });

  it.each([1, 3, Number.POSITIVE_INFINITY])(
    'reads UTF-16LE by its byte order mark, surrogate pairs included (chunks of %d bytes)',
    async (chunkSize) => {
      // Prepare, Act
      const { results, notices } = await readWithNotices(
        'utf16-bom.csv',
        { keepColumns: ['category'] },
        chunkSize,
      );

      // Assess
      expectEachRecordOnce(results, 3);
      expect(accepted(results).map(({ line, id, text, keep }) => ({ line, id, text, keep }))).toEqual([
        { line: 2, id: '1', text: 'Teekanne 🍵 aus Glas', keep: { category: 'Küche' } },
        { line: 3, id: '2', text: 'Ελληνικά, 日本語', keep: { category: 'Bücher' } },
        { line: 4, id: '3', text: 'Ærøskøbing ß', keep: { category: 'Reisen' } },
      ]);
      expect(notices).toEqual(['utf16-bom.csv: read as utf-16le (byte order mark)']);
    },
  );

  it('reads UTF-16BE by its byte order mark, even when told utf-8, and says so', async () => {
    // Prepare, Act
    const { results, notices } = await readWithNotices('utf16be-bom.tsv', { encoding: 'utf-8' }, 5);

    // Assess
    expect(accepted(results).map(({ text }) => text)).toEqual([
      'Teekanne 🍵 aus Glas',
      'Ελληνικά, 日本語',
      'Ærøskøbing ß',
    ]);
    expect(notices).toEqual([
      'utf16be-bom.tsv: a byte order mark says utf-16be: reading it as utf-16be, not utf-8',
    ]);
  });

  it.each([1, Number.POSITIVE_INFINITY])(
    'rejects the records of a UTF-16 file with a lone surrogate or an odd last byte (chunks of %d bytes)',
    async (chunkSize) => {
      // Prepare, Act
      const { results } = await readWithNotices('utf16-lone-surrogate.csv', {}, chunkSize);

      // Assess
      expectEachRecordOnce(results, 3);
      expect(accepted(results).map(({ text }) => text)).toEqual(['fine']);
      expect(rejected(results).map((r) => r.reason)).toEqual([
        'record 2 (line 3), column "text": invalid UTF-16LE (a lone surrogate, or an odd byte at the end)',
        'record 3 (line 4), column "text": invalid UTF-16LE (a lone surrogate, or an odd byte at the end)',
      ]);
    },
  );

  it('says UTF-16 without a byte order mark needs --encoding, and reads it with one', async () => {
    // Prepare: what utf16-bom.csv holds after its BOM.
    const bytes = fixtureBytes('utf16-bom.csv').subarray(2);
    const options = { source: 'no-bom.csv', format: 'csv', gzip: false } as const;

    // Act
    const act = readAll(chunked(bytes, 5), options);
    const named = await readAll(chunked(bytes, 5), { ...options, encoding: 'utf-16le' });

    // Assess
    await expect(act).rejects.toThrow(
      'no-bom.csv: the header row holds NUL bytes: UTF-16 without a byte order mark? Name it with --encoding utf-16le (or utf-16be)',
    );
    expect(accepted(named).map(({ text }) => text)).toEqual([
      'Teekanne 🍵 aus Glas',
      'Ελληνικά, 日本語',
      'Ærøskøbing ß',
    ]);
  });

  it('rejects a byte windows-1252 leaves undefined, and reads it under latin1', async () => {
    // Prepare, Act
    const cp1252 = await readWithNotices('cp1252-undefined-byte.csv', { encoding: 'windows-1252' });
    const latin1 = await readWithNotices('cp1252-undefined-byte.csv', { encoding: 'latin1' });

    // Assess
    expect(accepted(cp1252.results).map(({ text }) => text)).toEqual(['Café', 'Smørrebrød']);
    expect(rejected(cp1252.results).map((r) => r.reason)).toEqual([
      'record 2 (line 3), column "text": a byte windows-1252 does not define (0x81, 0x8D, 0x8F, 0x90 or 0x9D)',
    ]);
    expect(accepted(latin1.results).map(({ text }) => text)).toEqual([
      'Café',
      'bad \u0081 byte',
      'Smørrebrød',
    ]);
  });

  it('fails at the header when a named --id-column is not there, and numbers the rows when the default is not', async () => {
    // Prepare, Act
    const act = readFixture('products.csv', { idColumn: 'sku', requireIdColumn: true });
    const numbered = await readFixture('missing-id-column.csv');

    // Assess
    await expect(act).rejects.toThrow(
      'products.csv: no column "sku" in the header; columns are: id, title, text, category (check --id-column)',
    );
    expect(accepted(numbered)[0]?.id).toBe('1');
  });
});

describe('Function: readRecords (JSONL field paths)', () => {
  it('reads dotted paths into nested objects as jq does; a literal dotted key wins', async () => {
    // Prepare, Act
    const results = await readFixture('nested-fields.jsonl', {
      textColumn: 'product.description',
      idColumn: 'sku',
      requireIdColumn: true,
      keepColumns: ['product.title', 'product.price', 'product.tags'],
    });

    // Assess: what `jq -r '.product.description'` shows, and a reason where it shows null.
    expectEachRecordOnce(results, 5);
    expect(rowsOf(results)).toEqual([
      {
        id: 'A-1',
        text: 'Stainless steel kettle',
        keep: { 'product.title': 'Kettle', 'product.price': '29.99', 'product.tags': '["kitchen","steel"]' },
      },
      {
        id: 'A-2',
        text: 'Glass teapot, 1 l',
        keep: { 'product.title': 'Teapot', 'product.price': '19.5', 'product.tags': '[]' },
      },
      {
        id: 'A-4',
        text: 'Literal dotted key wins',
        keep: { 'product.title': 'Nested title', 'product.price': '', 'product.tags': '' },
      },
    ]);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 3 (line 3), column "product.description": missing field',
      'record 5 (line 5), column "product.description": missing field',
    ]);
  });

  it.each([
    [
      { textColumn: 'product.descr' },
      'nested-fields.jsonl: no field "product.descr" in any of the 5 records; fields are: sku, product, product.description, product.title, product.price, product.tags (use --text-column)',
    ],
    [
      { textColumn: 'product.description', keepColumns: ['product.colour'] },
      'no field "product.colour" in any of the 5 records',
    ],
    [
      { textColumn: 'product.description', idColumn: 'id', requireIdColumn: true },
      'no field "id" in any of the 5 records; fields are: sku, product, product.description, product.title, product.price, product.tags (check --id-column)',
    ],
  ])('fails the file fast when no record has a field asked for: %j', async (options, message) => {
    // Prepare, Act
    const act = readFixture('nested-fields.jsonl', options);

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(message);
  });

  it('decides after the first 100 records, before yielding any of them', async () => {
    // Prepare: 150 records without the field; the body would go on.
    const lines = Array.from({ length: 150 }, (_, i) => `{"id":${i + 1},"body":"row"}\n`).join('');
    let yielded = 0;

    // Act
    const act = async () => {
      const body = chunked(Buffer.from(lines), 64);
      for await (const _ of readRecords(body, { source: 'x.jsonl', format: 'jsonl', gzip: false })) yielded++;
    };

    // Assess
    await expect(act).rejects.toThrow(
      'x.jsonl: no field "text" in the first 100 records; fields are: id, body',
    );
    expect(yielded).toBe(0);
  });

  it('decides sooner on long records, so what it holds back stays bounded (16 MiB)', async () => {
    // Prepare: 25 records of about 900 kB without the field.
    const line = `{"body":"${'x'.repeat(900_000)}"}\n`;
    const body = chunked(Buffer.from(line.repeat(25)), 1 << 20);

    // Act
    const act = readAll(body, { source: 'long.jsonl', format: 'jsonl', gzip: false });

    // Assess: 19 x 900 kB is the first past 16 MiB.
    await expect(act).rejects.toThrow(
      'long.jsonl: no field "text" in the first 19 records; fields are: body',
    );
  });

  it('rejects lone surrogates like invalid UTF-8, and keeps real pairs and a real U+FFFD', async () => {
    // Prepare, Act
    const results = await readFixture('lone-surrogates.jsonl');

    // Assess
    expectEachRecordOnce(results, 6);
    expect(accepted(results).map(({ text }) => text)).toEqual([
      'a real pair 😀 is fine',
      'a real replacement char \uFFFD is fine',
    ]);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 1 (line 1), column "text": invalid Unicode: a lone surrogate \\ud800 (a JSON \\u escape without its pair)',
      'record 2 (line 2), column "text": invalid Unicode: a lone surrogate \\udfff (a JSON \\u escape without its pair)',
      'record 5 (line 5), column "id": invalid Unicode: a lone surrogate \\udc00 (a JSON \\u escape without its pair)',
      'record 6 (line 6), column "text": invalid Unicode: a lone surrogate \\ude00 (a JSON \\u escape without its pair)',
    ]);
  });
});

describe('Function: readRecords (typed kept columns)', () => {
  it('converts CSV cells to the types given as name:type, null when empty, and rejects what does not convert', async () => {
    // Prepare, Act
    const results = await readFixture('typed-columns.csv', {
      keepColumns: ['price:number', 'qty:integer', 'in_stock:boolean', 'tags:list'],
    });

    // Assess
    expectEachRecordOnce(results, 5);
    expect(accepted(results).map(({ id, keep }) => ({ id, keep }))).toEqual([
      { id: '1', keep: { price: 29.99, qty: 3n, in_stock: true, tags: ['kitchen', 'steel'] } },
      { id: '2', keep: { price: null, qty: 0n, in_stock: false, tags: [] } },
      { id: '5', keep: { price: -0.5, qty: 9007199254740993n, in_stock: true, tags: null } },
    ]);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 3 (line 4), column "price": expected a number, got "cheap"',
      'record 4 (line 5), column "qty": expected an integer (64 bits), got "1.5"',
    ]);
  });

  it('keeps JSON numbers, booleans and lists as their type when asked, and strings as before', async () => {
    // Prepare, Act
    const results = await readFixture('keep-columns.jsonl', {
      keepColumns: ['title', 'price:number', 'tags:list', 'meta', 'stock:integer', 'active:boolean'],
    });

    // Assess
    expect(accepted(results).map((record) => record.keep)).toEqual([
      { title: 'Shoe', price: 12.5, tags: ['a', 'b'], meta: '{"k":"v"}', stock: null, active: false },
      { title: '', price: null, tags: null, meta: '', stock: null, active: null },
    ]);
  });

  it.each([
    ['{"id":1,"text":"a","n":"12"}', 'n:number', undefined],
    [
      '{"id":1,"text":"a","n":true}',
      'n:number',
      'record 1 (line 1), column "n": expected a number, got a boolean',
    ],
    [
      '{"id":1,"text":"a","n":[1]}',
      'n:boolean',
      'record 1 (line 1), column "n": expected true or false, got an array',
    ],
    [
      '{"id":1,"text":"a","n":{"x":1}}',
      'n:list',
      'record 1 (line 1), column "n": expected a JSON array, got an object',
    ],
    [
      '{"id":1,"text":"a","n":1e300}',
      'n:integer',
      'record 1 (line 1), column "n": expected an integer (64 bits), got a number',
    ],
  ])('reads %s with %s: %s', async (line, spec, reason) => {
    // Prepare, Act
    const results = await readAll(chunked(Buffer.from(`${line}\n`)), {
      source: 'x.jsonl',
      format: 'jsonl',
      gzip: false,
      keepColumns: [spec],
    });

    // Assess
    expect(rejected(results)[0]?.reason).toBe(reason);
  });
});
