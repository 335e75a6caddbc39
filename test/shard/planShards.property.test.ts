import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ShardLayout } from '../../lambda/shard/planShards.ts';
import type { InputFormat, ReadResult } from '../../lambda/types.ts';
import { readByShards, readBytes } from './readShards.ts';

const RUNS = Number(process.env.SHARD_RUNS ?? 120);
/** Small, so that generated lines cross it both ways. */
const MAX_RECORD_BYTES = 48;

const BOM = '\uFEFF';
/** Characters that stress the reader: separators, quotes, line breaks, blanks, multi-byte UTF-8, a BOM. */
const TRICKY = ['a', 'b', 'Z', '7', ' ', '\t', 'é', '東', '😀', ',', '"', '\n', '\r', '\r\n', BOM];

const text = (maxLength = 8) =>
  fc.array(fc.constantFrom(...TRICKY), { maxLength }).map((parts) => parts.join(''));
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

/** A CSV cell: quoted (quotes doubled, any content), plain, or plain with a stray quote inside. */
const csvCell = fc.oneof(
  text().map((value) => `"${value.replaceAll('"', '""')}"`),
  text().map((value) => value.replace(/[",\r\n]/g, '')),
  fc
    .tuple(fc.constantFrom('x', 'ab', ' '), text(4))
    .map(([head, tail]) => `${head}"${tail.replace(/[,\r\n]/g, '')}`),
);
const csvRow = fc.array(csvCell, { minLength: 1, maxLength: 4 }).map((cells) => cells.join(','));
/** Rows the reader skips (empty, blank, a quoted empty value) or not quite (a quoted blank). */
const csvBlankish = fc.constantFrom('', '  ', '\t', '""', '" "', ' ,');

/** Well-formed-ish CSV: a header (maybe after blank lines and a BOM), rows with mixed line endings. */
const csvFile = fc
  .record({
    bom: fc.boolean(),
    leading: fc.array(fc.constantFrom('', ' '), { maxLength: 2 }),
    header: fc.constantFrom('id,text', 'text', 'text,id,extra', '"id","text"', ' id , text '),
    rows: fc.array(
      fc.tuple(fc.oneof({ weight: 6, arbitrary: csvRow }, { weight: 1, arbitrary: csvBlankish }), lineEnd),
      { maxLength: 14 },
    ),
    last: fc.option(csvRow, { nil: undefined }),
  })
  .map(({ bom, leading, header, rows, last }) => {
    let file = bom ? BOM : '';
    for (const line of leading) file += `${line}\n`;
    file += `${header}\n`;
    for (const [row, end] of rows) file += `${row}${end}`;
    if (last !== undefined) file += last;
    return file;
  });

/** CSV with anything after the header, including quotes that are never closed. */
const csvAnything = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...TRICKY), { maxLength: 60 }))
  .map(([bom, parts]) => `${bom ? BOM : ''}id,text\n${parts.join('')}`);

const jsonLine = fc.oneof(
  { weight: 5, arbitrary: fc.record({ id: text(3), text: text(12) }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.record({ text: text(40) }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom('', '  ', '\t', '\r', 'not json', '[1]', '{"text":""}') },
  { weight: 1, arbitrary: text(6).map((value) => `${BOM}{"text":${JSON.stringify(value)}}`) },
  {
    weight: 1,
    // Around the limit: the reader measures a line without the `\r` of its CRLF.
    arbitrary: fc.constantFrom(
      ' '.repeat(MAX_RECORD_BYTES + 3),
      ' '.repeat(MAX_RECORD_BYTES),
      'x'.repeat(MAX_RECORD_BYTES + 1),
      'x'.repeat(MAX_RECORD_BYTES),
    ),
  },
);
const jsonlFile = fc
  .record({
    bom: fc.boolean(),
    lines: fc.array(fc.tuple(jsonLine, fc.constantFrom('\n', '\r\n')), { maxLength: 14 }),
    last: fc.option(jsonLine, { nil: undefined }),
  })
  .map(({ bom, lines, last }) => {
    let file = bom ? BOM : '';
    for (const [line, end] of lines) file += `${line}${end}`;
    if (last !== undefined) file += last;
    return file;
  });
const jsonlAnything = fc
  .array(fc.constantFrom(...TRICKY, '{', '}', ':'), { maxLength: 60 })
  .map((p) => p.join(''));

const cutting = (size: number) =>
  fc.record({
    shardBytes: fc.integer({ min: 1, max: Math.max(1, size + 1) }),
    shardRecords: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 4 }),
  });

function expectContiguous(layout: ShardLayout, size: number): void {
  if (size === 0) {
    expect(layout.shards).toEqual([]);
    return;
  }
  expect(layout.shards[0]?.start).toBe(0);
  expect(layout.shards.at(-1)?.end).toBe(size - 1);
  layout.shards.forEach((shard, i) => {
    expect(shard.index).toBe(i);
    expect(shard.end).toBeGreaterThanOrEqual(shard.start);
    if (i > 0) expect(shard.start).toBe(layout.shards[i - 1]!.end + 1);
  });
}

async function readWhole(bytes: Uint8Array, format: InputFormat): Promise<ReadResult[]> {
  // The distributed path reads commas (the planner splits rows on them), so the whole file is read so too.
  return readBytes(bytes, {
    source: 'input',
    format,
    gzip: false,
    maxRecordBytes: MAX_RECORD_BYTES,
    delimiter: ',',
  });
}

/** The property: the shards' records, concatenated, are the whole file's records. */
async function checkSharding(
  format: InputFormat,
  file: string,
  cut: { shardBytes: number; shardRecords?: number; chunkSizes: number[] },
): Promise<void> {
  const bytes = new Uint8Array(Buffer.from(file, 'utf8'));
  let whole: ReadResult[] | undefined;
  try {
    whole = await readWhole(bytes, format);
  } catch (error) {
    // A field none of the first objects has fails the file: a verdict the first shard makes on its
    // own records. Real shards hold thousands of them; shards of a few bytes may hold none of those
    // that decide it, so that verdict is not part of this property (test/shard/distributed.test.ts
    // and the reader's own tests cover it).
    if (format === 'jsonl' && /: no field "[^"]*" in (any of the|the first) \d+ records/.test(String(error)))
      return;
    whole = undefined;
  }
  if (whole === undefined) {
    // The reader cannot read this file; planning must fail too rather than hand out shards.
    await expect(readByShards(bytes, { format, maxRecordBytes: MAX_RECORD_BYTES, ...cut })).rejects.toThrow();
    return;
  }
  const { layout, results, perShard } = await readByShards(bytes, {
    format,
    maxRecordBytes: MAX_RECORD_BYTES,
    ...cut,
  });
  expect(results).toEqual(whole);
  expect(layout.records).toBe(whole.length);
  expect(perShard.map((shard) => shard.length)).toEqual(layout.shards.map((shard) => shard.records));
  expectContiguous(layout, bytes.length);
}

describe('Function: planShards (property: shards read like the whole file)', () => {
  it('CSV with quotes, doubled quotes, line breaks and CRLF inside fields, blank rows and a BOM', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvFile.chain((file) => fc.tuple(fc.constant(file), cutting(Buffer.byteLength(file)))),
        async ([file, cut]) => checkSharding('csv', file, cut),
      ),
      { numRuns: RUNS },
    );
  });

  it('CSV with arbitrary bytes after the header (stray and unclosed quotes included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvAnything.chain((file) => fc.tuple(fc.constant(file), cutting(Buffer.byteLength(file)))),
        async ([file, cut]) => checkSharding('csv', file, cut),
      ),
      { numRuns: RUNS },
    );
  });

  it('JSONL with blank, invalid, BOM-prefixed and oversize lines, CRLF and a BOM', async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonlFile.chain((file) => fc.tuple(fc.constant(file), cutting(Buffer.byteLength(file)))),
        async ([file, cut]) => checkSharding('jsonl', file, cut),
      ),
      { numRuns: RUNS },
    );
  });

  it('JSONL made of arbitrary characters', async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonlAnything.chain((file) => fc.tuple(fc.constant(file), cutting(Buffer.byteLength(file)))),
        async ([file, cut]) => checkSharding('jsonl', file, cut),
      ),
      { numRuns: RUNS },
    );
  });
});
