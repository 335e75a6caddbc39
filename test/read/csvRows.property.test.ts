import { type Options, parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CSV_DELIMITERS, type CsvDelimiter } from '../../lambda/read/CsvDelimiter.ts';
import { csvRows, UnreadableCsvError } from '../../lambda/read/csvRows.ts';

const RUNS = Number(process.env.CSV_RUNS ?? 400);

/** The options the reader used csv-parse with before `scanCsvRows`: the reference. */
const REFERENCE_OPTIONS: Options = {
  encoding: null,
  record_delimiter: ['\r\n', '\n', '\r'],
  relax_quotes: true,
  relax_column_count: true,
};

/**
 * Pieces that make CSV hard: separators, quotes in every position, line breaks, blanks, multi-byte UTF-8.
 * `,` stands for the delimiter under test; the other separators are text then (or the delimiter, for `\t`).
 */
const TRICKY = [
  'a',
  'bc',
  ' ',
  '\t',
  'é',
  '東',
  '😀',
  ',',
  '"',
  '""',
  '\n',
  '\r',
  '\r\n',
  '"\r\n',
  '",',
  ',"',
  ';',
  '|',
  '\t"',
];

const text = (maxLength: number) =>
  fc.array(fc.constantFrom(...TRICKY), { maxLength }).map((parts) => parts.join(''));

/** CSV files of the reader's hard cases, with `delimiter` where the pieces have `,`. */
function csvFileWith(delimiter: CsvDelimiter) {
  const special = new Set(['"', '\r', '\n', delimiter]);
  const plain = (value: string) =>
    [...value.replaceAll(',', delimiter)].filter((c) => !special.has(c)).join('');
  const quoted = (value: string) => `"${value.replaceAll(',', delimiter).replaceAll('"', '""')}"`;
  const cell = fc.oneof(
    { weight: 3, arbitrary: text(6).map(plain) },
    { weight: 3, arbitrary: text(6).map(quoted) },
    { weight: 1, arbitrary: fc.tuple(text(3), text(3)).map(([a, b]) => `"${a.replaceAll('"', '""')}"${b}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', ' '), text(4)).map(([a, b]) => `${a}"${b}`) },
  );
  const row = fc.array(cell, { minLength: 1, maxLength: 4 }).map((cells) => cells.join(delimiter));
  return csvFileOf(row, delimiter);
}

function csvFileOf(row: fc.Arbitrary<string>, delimiter: CsvDelimiter) {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.array(fc.tuple(row, fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\r\r\n')), { maxLength: 12 }),
          fc.option(row, { nil: undefined }),
        )
        .map(([rows, last]) => rows.map(([r, end]) => r + end).join('') + (last ?? '')),
    },
    // Anything at all from the same pieces: unclosed quotes, quotes after quotes, bare line breaks.
    { weight: 1, arbitrary: text(40).map((file) => file.replaceAll(',', delimiter)) },
  );
}

/** Splits bytes at the given cut points (sorted, deduplicated) into chunks, some empty. */
function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

async function* stream(chunks: readonly Buffer[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

type Outcome = { rows: string[][] } | { error: string };

function reference(bytes: Buffer, delimiter: CsvDelimiter = ','): Outcome {
  try {
    const rows = parse(bytes, { ...REFERENCE_OPTIONS, delimiter }) as unknown as Buffer[][];
    return { rows: rows.map((fields) => fields.map((field) => field.toString('latin1'))) };
  } catch (error) {
    return { error: (error as Error).message.split(':')[0]! };
  }
}

async function scanned(
  chunks: readonly Buffer[],
  maxRowBytes = 1_000_000,
  delimiter: CsvDelimiter = ',',
): Promise<Outcome> {
  const rows: string[][] = [];
  try {
    for await (const batch of csvRows(stream(chunks), maxRowBytes, delimiter)) {
      for (const fields of batch) rows.push(fields.map((field) => field.toString('latin1')));
    }
    return { rows };
  } catch (error) {
    if (!(error instanceof UnreadableCsvError)) throw error;
    return { error: error.problem.split(':')[0]! };
  }
}

describe('Function: csvRows', () => {
  it.each(CSV_DELIMITERS)(
    'returns exactly the rows csv-parse returns for the whole file with delimiter %j, however the bytes are chunked',
    async (delimiter) => {
      await fc.assert(
        fc.asyncProperty(csvFileWith(delimiter), fc.array(fc.nat(), { maxLength: 8 }), async (file, cuts) => {
          const bytes = Buffer.from(file, 'utf8');
          expect(await scanned(chunksOf(bytes, cuts), 1_000_000, delimiter)).toEqual(
            reference(bytes, delimiter),
          );
        }),
        { numRuns: RUNS },
      );
    },
  );

  it.each(CSV_DELIMITERS)(
    'reads a file fed one byte at a time like csv-parse, with delimiter %j',
    async (delimiter) => {
      await fc.assert(
        fc.asyncProperty(csvFileWith(delimiter), async (file) => {
          const bytes = Buffer.from(file, 'utf8');
          const single = [...bytes].map((byte) => Buffer.from([byte]));
          expect(await scanned(single, 1_000_000, delimiter)).toEqual(reference(bytes, delimiter));
        }),
        { numRuns: RUNS / 4 },
      );
    },
  );

  it('yields every row before the one that is too long, then fails naming the limit', async () => {
    // Prepare: two rows, then one whose quote never closes, fed in small chunks.
    const bytes = Buffer.from(`a,b\r\nc,"d""e"\n1,"${'x'.repeat(5000)}`);
    const rows: string[][] = [];

    // Act
    const act = async () => {
      for await (const batch of csvRows(stream(chunksOf(bytes, [7, 100, 1000, 3000])), 4096)) {
        for (const fields of batch) rows.push(fields.map(String));
      }
    };

    // Assess
    await expect(act).rejects.toThrow('Max Record Size: a row over 4096 bytes (a quote left open?)');
    expect(rows).toEqual([
      ['a', 'b'],
      ['c', 'd"e'],
    ]);
  });

  it('rescans a long row only when it has doubled, so a long quoted field costs linear time', async () => {
    // Prepare: one 8 MiB quoted field in 1-KiB chunks (quadratic rescanning would take minutes).
    const field = 'y'.repeat(8 * 1_048_576);
    const bytes = Buffer.from(`id,text\n1,"${field}"\n2,z\n`);

    // Act
    const outcome = await scanned(
      chunksOf(
        bytes,
        Array.from({ length: 8200 }, (_, i) => i * 1024),
      ),
      64 * 1_048_576,
    );

    // Assess
    expect(outcome).toEqual({
      rows: [
        ['id', 'text'],
        ['1', field],
        ['2', 'z'],
      ],
    });
  });
});
