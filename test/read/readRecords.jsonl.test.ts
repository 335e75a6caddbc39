import { describe, expect, it } from 'vitest';
import {
  accepted,
  chunked,
  expectEachRecordOnce,
  readAll,
  readFixture,
  rejected,
} from '../helpers/readFixtures.ts';

describe('Function: readRecords (JSONL)', () => {
  it('reads the quick-start products file', async () => {
    // Prepare, Act
    const results = await readFixture('products.jsonl', { keepColumns: ['title', 'category'] });

    // Assess
    expectEachRecordOnce(results, 20);
    expect(rejected(results)).toEqual([]);
    expect(accepted(results)[1]).toEqual({
      record: 2,
      line: 2,
      id: 'P-2002',
      text: 'Conical burr grinder with 40 settings, from fine espresso to coarse French press.',
      keep: { title: 'Burr Coffee Grinder', category: 'kitchen' },
    });
  });

  it('strips a BOM on the first line and a \\r before each \\n', async () => {
    // Prepare, Act
    const results = await readFixture('bom-crlf.jsonl');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results).map(({ line, id, text }) => [line, id, text])).toEqual([
      [1, 'a', 'first'],
      [2, 'b', 'second'],
      [4, 'c', 'third'],
    ]);
  });

  it('skips blank and whitespace-only lines, which are not records, but counts them as lines', async () => {
    // Prepare, Act
    const results = await readFixture('blank-lines.jsonl');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results).map(({ record, line }) => [record, line])).toEqual([
      [1, 2],
      [2, 5],
      [3, 8],
    ]);
  });

  it('reads a last line without a newline', async () => {
    // Prepare, Act
    const results = await readFixture('no-trailing-newline.jsonl');

    // Assess
    expectEachRecordOnce(results, 2);
    expect(accepted(results).map((record) => record.text)).toEqual(['one', 'two']);
  });

  it('rejects lines that are valid JSON but not an object', async () => {
    // Prepare, Act
    const results = await readFixture('not-an-object.jsonl');

    // Assess
    expectEachRecordOnce(results, 7);
    expect(accepted(results).map((record) => record.id)).toEqual(['1', '7']);
    expect(rejected(results)).toEqual([
      { record: 2, line: 2, reason: 'record 2 (line 2): expected a JSON object, got an array' },
      { record: 3, line: 3, reason: 'record 3 (line 3): expected a JSON object, got a string' },
      { record: 4, line: 4, reason: 'record 4 (line 4): expected a JSON object, got a number' },
      { record: 5, line: 5, reason: 'record 5 (line 5): expected a JSON object, got null' },
      { record: 6, line: 6, reason: 'record 6 (line 6): expected a JSON object, got a boolean' },
    ]);
  });

  it('rejects lines that are not valid JSON and carries on', async () => {
    // Prepare, Act
    const results = await readFixture('invalid-json.jsonl');

    // Assess
    expectEachRecordOnce(results, 6);
    expect(accepted(results).map((record) => record.text)).toEqual(['good', 'good again']);
    const reasons = rejected(results).map((r) => r.reason);
    expect(reasons).toHaveLength(4);
    for (const [i, record] of [2, 3, 4, 6].entries()) {
      expect(reasons[i]).toMatch(
        new RegExp(`^record ${record} \\(line ${record}\\): invalid JSON \\(.+\\)$`),
      );
    }
  });

  it('rejects a missing or null text field, naming the field', async () => {
    // Prepare, Act
    const results = await readFixture('missing-text-field.jsonl');

    // Assess
    expectEachRecordOnce(results, 5);
    expect(accepted(results).map(({ id, text }) => [id, text])).toEqual([
      ['1', 'has text'],
      ['4', 'no id field'],
    ]);
    expect(rejected(results)).toEqual([
      { record: 2, line: 2, id: '2', reason: 'record 2 (line 2), column "text": missing field' },
      {
        record: 3,
        line: 3,
        id: '3',
        reason: 'record 3 (line 3), column "text": expected a string, got null',
      },
      { record: 5, line: 5, id: '5', reason: 'record 5 (line 5), column "text": missing field' },
    ]);
  });

  it('takes numbers and booleans as text, rejects objects, arrays and blank strings', async () => {
    // Prepare, Act
    const results = await readFixture('text-types.jsonl');

    // Assess
    expectEachRecordOnce(results, 8);
    expect(accepted(results).map(({ id, text }) => [id, text])).toEqual([
      ['1', 'a string'],
      ['2', '42'],
      ['3', 'true'],
      ['8', '-1500'],
    ]);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 4 (line 4), column "text": expected a string, got an object',
      'record 5 (line 5), column "text": expected a string, got an array',
      'record 6 (line 6), column "text": empty text',
      'record 7 (line 7), column "text": empty text',
    ]);
  });

  it('reads ids from strings and numbers, and falls back to the record number', async () => {
    // Prepare, Act
    const results = await readFixture('id-types.jsonl');

    // Assess
    expectEachRecordOnce(results, 8);
    expect(accepted(results).map((record) => record.id)).toEqual(['s-1', '2', '3', '4', '5', '2.5']);
    expect(rejected(results)).toEqual([
      {
        record: 6,
        line: 6,
        reason: 'record 6 (line 6), column "id": expected a string or a number, got an object',
      },
      {
        record: 7,
        line: 7,
        reason:
          'record 7 (line 7), column "id": a number too large to keep exactly; write the id as a string',
      },
    ]);
  });

  it('carries kept fields as strings: JSON for non-strings, "" when absent or null', async () => {
    // Prepare
    const keepColumns = ['title', 'price', 'tags', 'meta', 'stock', 'active'];

    // Act
    const results = await readFixture('keep-columns.jsonl', { keepColumns });

    // Assess
    expect(accepted(results).map((record) => record.keep)).toEqual([
      {
        title: 'Shoe',
        price: '12.5',
        tags: '["a","b"]',
        meta: '{"k":"v"}',
        stock: '',
        active: 'false',
      },
      { title: '', price: '', tags: '', meta: '', stock: '', active: '' },
    ]);
  });

  it('looks up own fields only, so a field named like an Object method is not found by accident', async () => {
    // Prepare: the field on the second record only, so the first batch sees it.
    const bytes = Buffer.from('{"id":1,"text":"a"}\n{"id":2,"constructor":"b"}\n');

    // Act
    const results = await readAll(chunked(bytes), {
      source: 'x.jsonl',
      format: 'jsonl',
      gzip: false,
      textColumn: 'constructor',
    });

    // Assess
    expect(rejected(results)[0]?.reason).toBe('record 1 (line 1), column "constructor": missing field');
    expect(accepted(results).map((record) => record.text)).toEqual(['b']);
  });

  it('rejects lines with invalid UTF-8, but keeps a genuine or escaped U+FFFD', async () => {
    // Prepare, Act
    const results = await readFixture('invalid-utf8.jsonl');

    // Assess
    expectEachRecordOnce(results, 6);
    expect(accepted(results).map((record) => record.text)).toEqual([
      'café 🍕',
      'real replacement \uFFFD char',
      'escaped \uFFFD is fine',
    ]);
    expect(rejected(results).map((r) => r.reason)).toEqual([
      'record 2 (line 2): invalid UTF-8 bytes in the line',
      'record 3 (line 3): invalid UTF-8 bytes in the line',
      'record 5 (line 5): invalid UTF-8 bytes in the line',
    ]);
  });

  it('rejects lines over maxRecordBytes without keeping them, and carries on', async () => {
    // Prepare, Act
    const results = await readFixture('oversize-record.jsonl', { maxRecordBytes: 100 });

    // Assess
    expectEachRecordOnce(results, 4);
    expect(accepted(results).map((record) => record.id)).toEqual(['1', '3']);
    expect(rejected(results)).toEqual([
      { record: 2, line: 2, reason: 'record 2 (line 2): 318 bytes, over the limit of 100 (maxRecordBytes)' },
      { record: 4, line: 4, reason: 'record 4 (line 4): 318 bytes, over the limit of 100 (maxRecordBytes)' },
    ]);
  });

  it('adds recordOffset and lineOffset to the numbers of a shard', async () => {
    // Prepare, Act
    const results = await readFixture('blank-lines.jsonl', { recordOffset: 10, lineOffset: 100 });

    // Assess
    expectEachRecordOnce(results, 3, 10);
    expect(accepted(results).map(({ record, line, id }) => [record, line, id])).toEqual([
      [11, 102, '1'],
      [12, 105, '2'],
      [13, 108, '3'],
    ]);
  });
});
