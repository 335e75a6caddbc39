import { createReadStream } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../lambda/errors.ts';
import { readRecords } from '../../lambda/read/readRecords.ts';
import type { ReadResult } from '../../lambda/types.ts';
import {
  accepted,
  expectEachRecordOnce,
  FIXTURES_DIR,
  fixtureNames,
  readAll,
  readFixture,
} from '../helpers/readFixtures.ts';

async function outcome(name: string, chunkSize: number): Promise<{ results?: ReadResult[]; error?: string }> {
  const keepColumns = name === 'keep-columns.jsonl' ? ['title', 'price'] : [];
  const maxRecordBytes = name.startsWith('oversize-record') ? 100 : undefined;
  try {
    return { results: await readFixture(name, { keepColumns, maxRecordBytes }, chunkSize) };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

describe('Function: readRecords', () => {
  it('reads gzip-compressed CSV', async () => {
    // Prepare, Act
    const results = await readFixture('gzipped.csv.gz');

    // Assess
    expectEachRecordOnce(results, 3);
    expect(accepted(results).map((record) => record.text)).toEqual([
      'Gzipped, with a comma',
      'Second row',
      'Third row',
    ]);
  });

  it('reads gzip-compressed JSONL', async () => {
    // Prepare, Act
    const results = await readFixture('gzipped.jsonl.gz');

    // Assess
    expectEachRecordOnce(results, 2);
    expect(accepted(results).map((record) => record.text)).toEqual(['gzipped one', 'gzipped two']);
  });

  it.each([
    ['corrupt-gzip.csv.gz', 'corrupt-gzip.csv.gz: not a readable gzip file'],
    ['truncated-gzip.jsonl.gz', 'truncated-gzip.jsonl.gz: not a readable gzip file (unexpected end of file)'],
    ['not-gzip.csv.gz', 'not-gzip.csv.gz: not a readable gzip file (incorrect header check)'],
  ])('fails with an InputError naming the file on a bad gzip stream: %s', async (name, message) => {
    // Prepare, Act
    const act = readFixture(name);

    // Assess
    await expect(act).rejects.toThrow(InputError);
    await expect(act).rejects.toThrow(message);
  });

  it('passes errors of the body itself through unchanged', async () => {
    // Prepare
    const failure = new Error('connection reset');
    async function* body(): AsyncGenerator<Uint8Array> {
      yield gzipSync('id,text\n1,one\n').subarray(0, 10);
      throw failure;
    }

    // Act
    const act = readAll(body(), { source: 'x.csv.gz', format: 'csv', gzip: true });

    // Assess
    await expect(act).rejects.toBe(failure);
  });

  it.each(fixtureNames())(
    'gives the same results for %s in 1-byte, 7-byte and whole chunks',
    async (name) => {
      // Prepare, Act
      const whole = await outcome(name, Number.POSITIVE_INFINITY);
      const oneByte = await outcome(name, 1);
      const sevenBytes = await outcome(name, 7);

      // Assess
      if (whole.error !== undefined) {
        // Records read before a fatal error may or may not have come out; the error must not differ.
        expect(oneByte.error).toBe(whole.error);
        expect(sevenBytes.error).toBe(whole.error);
      } else {
        expect(oneByte).toEqual(whole);
        expect(sevenBytes).toEqual(whole);
      }
    },
  );

  it('reads from a file stream', async () => {
    // Prepare
    const body = createReadStream(`${FIXTURES_DIR}products.csv`, { highWaterMark: 256 });

    // Act
    const results = await readAll(body, { source: 'products.csv', format: 'csv', gzip: false });

    // Assess
    expectEachRecordOnce(results, 40);
  });

  it.each(['csv', 'jsonl'] as const)('streams %s: records come out before the body ends', async (format) => {
    // Prepare: a body that never ends.
    let bytesPulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      if (format === 'csv') yield Buffer.from('id,text\n');
      for (let i = 1; ; i++) {
        const chunk = Buffer.from(format === 'csv' ? `${i},row ${i}\n` : `{"id":${i},"text":"row ${i}"}\n`);
        bytesPulled += chunk.length;
        yield chunk;
      }
    }

    // Act
    const ids: string[] = [];
    for await (const result of readRecords(endless(), { source: `endless.${format}`, format, gzip: false })) {
      if (result.ok) ids.push(result.value.id);
      if (ids.length === 5) break;
    }

    // Assess
    expect(ids).toEqual(['1', '2', '3', '4', '5']);
    // Read-ahead is bounded by stream buffers (16 KiB for csv-parse's input), not by the file.
    expect(bytesPulled).toBeLessThan(64 * 1024);
  });

  it('validates options when called, before reading a byte', () => {
    // Prepare
    let pulled = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      pulled = true;
      yield Buffer.from('');
    }

    // Act
    const act = () => readRecords(body(), { source: 'a.csv', format: 'csv', gzip: false, maxRecordBytes: 0 });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow('Expected `maxRecordBytes` to be a positive integer, got 0');
    expect(pulled).toBe(false);
  });
});
