import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OFFLINE_DEFAULT_DIMENSIONS } from '../../lambda/embed/featureHash.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { type CliResult, runCli } from '../helpers/cli.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';
import {
  arrowSchema,
  parquetColumnTypes,
  readArrowRows,
  readOutputFolder,
  readParquetRows,
} from '../helpers/readOutput.ts';

const FIXTURES = path.resolve('fixtures');

let out: string;
useTempDir((dir) => {
  out = dir;
}, 'embed-batch-inputs-');

/** `embed-batch run fixtures/<name> --out <tmp> <extra>` on the offline embedder. */
function run(name: string, extra: string[] = []): Promise<CliResult> {
  return runCli(['run', path.join(FIXTURES, name), '--out', out, ...extra]);
}

/** The output folder named on the summary line (`<source> -> <folder> (...)`). */
function outputDirOf(result: CliResult): string {
  const folder = result.stdout.map((line) => / -> (.+?) \(\d+ rows embedded/.exec(line)?.[1]).find(Boolean);
  if (folder === undefined) throw new Error(`no summary line in ${JSON.stringify(result.stdout)}`);
  return folder;
}

/** stderr without the offline embedder's notice, which every offline run prints. */
function said(result: CliResult): string[] {
  return result.stderr.filter((line) => !line.includes('using the offline embedder'));
}

/** Every row of the output, read back with DuckDB through `part-*.parquet`, as a reader would. */
async function partRows(dir: string) {
  return readParquetRows(path.join(dir, 'part-*.parquet'), OFFLINE_DEFAULT_DIMENSIONS);
}

describe('Command: run (real-world inputs, read back with DuckDB)', () => {
  it('embeds an Excel semicolon file in windows-1252 with exactly the rows Excel shows', async () => {
    // Prepare, Act
    const result = await run('semicolon-cp1252.csv', [
      '--encoding',
      'cp1252',
      '--keep-columns',
      'category,price',
    ]);

    // Assess
    expect(result.status).toBe(0);
    expect(said(result)).toEqual([
      `embed-batch: ${path.join(FIXTURES, 'semicolon-cp1252.csv')}: columns separated by ";" (seen in the header; --delimiter sets it)`,
    ]);
    const rows = await partRows(outputDirOf(result));
    expect(rows.map(({ id, text, category, price }) => ({ id, text, category, price }))).toEqual([
      { id: '1', text: 'Wasserkocher aus Edelstahl, 1,7 l', category: 'Küche', price: '29,99 €' },
      { id: '2', text: 'Größe: 42; Farbe "Weiß"', category: 'Schuhe', price: '59,00 €' },
      { id: '3', text: 'Crème brûlée – Förmchen (4 Stück)', category: 'Küche', price: '12,50 €' },
    ]);
  });

  it('embeds UTF-16 with a BOM and a .tsv with no options', async () => {
    // Prepare, Act
    const utf16 = await run('utf16-bom.csv');
    const tsv = await run('tab-separated.tsv');

    // Assess
    expect([utf16.status, tsv.status]).toEqual([0, 0]);
    expect(said(utf16)).toEqual([
      `embed-batch: ${path.join(FIXTURES, 'utf16-bom.csv')}: read as utf-16le (byte order mark)`,
    ]);
    expect((await partRows(outputDirOf(utf16))).map((row) => row.text)).toEqual([
      'Teekanne 🍵 aus Glas',
      'Ελληνικά, 日本語',
      'Ærøskøbing ß',
    ]);
    expect((await partRows(outputDirOf(tsv))).map((row) => row.text)).toEqual([
      'Kettle, electric; 1.7 l',
      'A quoted\ttab and "quotes"',
      'plain text',
    ]);
  });

  it('reads dotted JSONL paths as jq shows them and lists the records without one', async () => {
    // Prepare, Act
    const result = await run('nested-fields.jsonl', [
      '--text-column',
      'product.description',
      '--id-column',
      'sku',
      '--keep-columns',
      'product.title',
    ]);

    // Assess: `jq -r '[.sku, .product.description] | @tsv'`, with a literal "product.description" key winning.
    expect(result.status).toBe(0);
    const { rows, errors } = await readOutputFolder(outputDirOf(result));
    expect(rows.map((row) => [row.id, row.text, row['product.title']])).toEqual([
      ['A-1', 'Stainless steel kettle', 'Kettle'],
      ['A-2', 'Glass teapot, 1 l', 'Teapot'],
      ['A-4', 'Literal dotted key wins', 'Nested title'],
    ]);
    expect(errors).toEqual([
      {
        record: 3,
        line: 3,
        id: 'A-3',
        reason: 'record 3 (line 3), column "product.description": missing field',
      },
      {
        record: 5,
        line: 5,
        id: 'A-5',
        reason: 'record 5 (line 5), column "product.description": missing field',
      },
    ]);
  });

  it('rejects lone surrogates and embeds the rest', async () => {
    // Prepare, Act
    const result = await run('lone-surrogates.jsonl');

    // Assess
    expect(result.status).toBe(0);
    const { rows, errors } = await readOutputFolder(outputDirOf(result));
    expect(rows.map((row) => row.text)).toEqual([
      'a real pair 😀 is fine',
      'a real replacement char \uFFFD is fine',
    ]);
    expect(errors.map((e) => e.record)).toEqual([1, 2, 5, 6]);
  });
});

describe('Command: run (typed kept columns, read back with DuckDB and apache-arrow)', () => {
  it('writes name:type columns as DOUBLE, BIGINT, BOOLEAN and VARCHAR[], null where absent', async () => {
    // Prepare, Act
    const result = await run('typed-columns.csv', [
      '--keep-columns',
      'price:number,qty:integer,in_stock:boolean,tags:list',
      '--format',
      'both',
    ]);

    // Assess
    expect(result.status).toBe(0);
    const dir = outputDirOf(result);
    const glob = path.join(dir, 'part-*.parquet');
    expect(await parquetColumnTypes(glob)).toEqual({
      id: 'VARCHAR',
      text: 'VARCHAR',
      price: 'DOUBLE',
      qty: 'BIGINT',
      in_stock: 'BOOLEAN',
      tags: 'VARCHAR[]',
      content_hash: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
    const rows = await partRows(dir);
    expect(rows.map(({ id, price, qty, in_stock, tags }) => ({ id, price, qty, in_stock, tags }))).toEqual([
      { id: '1', price: 29.99, qty: 3n, in_stock: true, tags: ['kitchen', 'steel'] },
      { id: '2', price: null, qty: 0n, in_stock: false, tags: [] },
      { id: '5', price: -0.5, qty: 9007199254740993n, in_stock: true, tags: null },
    ]);
    const arrow = await readArrowRows(path.join(dir, 'part-00000.arrow'));
    expect(arrow.map((row) => [row.price, row.qty, row.in_stock])).toEqual([
      [29.99, 3n, true],
      [null, 0n, false],
      [-0.5, 9007199254740993n, true],
    ]);
  });
});

describe('Command: run (JSONL kept fields typed as the first records show them)', () => {
  const FIELDS = 'price,qty,active,tags,zip,meta,mixed,note';

  /** What a kept value reads back as, worked out from the JSON: the oracle for records 1-100. */
  function expectedRow(object: Record<string, unknown>) {
    const text = (value: unknown) =>
      value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    const tags = object.tags as unknown[] | null | undefined;
    return {
      id: object.id,
      price: object.price ?? null,
      qty: object.qty ?? null,
      active: object.active ?? null,
      tags: tags?.map(text) ?? null,
      zip: text(object.zip),
      meta: text(object.meta),
      mixed: text(object.mixed),
      note: text(object.note),
    };
  }

  it('writes numbers as DOUBLE, booleans as BOOLEAN, arrays as VARCHAR[], the rest as text, and rejects what does not convert', async () => {
    // Prepare
    const source = path.join(FIXTURES, 'typed-fields.jsonl');
    const first100 = (await readFile(source, 'utf8'))
      .split('\n')
      .slice(0, 100)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

    // Act
    const result = await run('typed-fields.jsonl', ['--keep-columns', FIELDS, '--format', 'both']);

    // Assess
    expect(result.status).toBe(0);
    expect(said(result)).toEqual([
      `embed-batch: ${source}: kept fields typed as the first 100 records show them: price number, qty number, active boolean, tags list (name:string keeps one as text)`,
    ]);
    const dir = outputDirOf(result);
    expect(await parquetColumnTypes(path.join(dir, 'part-*.parquet'))).toEqual({
      id: 'VARCHAR',
      text: 'VARCHAR',
      price: 'DOUBLE',
      qty: 'DOUBLE',
      active: 'BOOLEAN',
      tags: 'VARCHAR[]',
      zip: 'VARCHAR',
      meta: 'VARCHAR',
      mixed: 'VARCHAR',
      note: 'VARCHAR',
      content_hash: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
    const { rows, errors, usage } = await readOutputFolder(dir);
    const kept = rows.map(({ id, price, qty, active, tags, zip, meta, mixed, note }) => ({
      id,
      price,
      qty,
      active,
      tags,
      zip,
      meta,
      mixed,
      note,
    }));
    expect(kept.slice(0, 100)).toEqual(first100.map(expectedRow));
    // After the sample: a null is null, a numeric string converts as a declared number would, 2.5 fits DOUBLE.
    expect(kept.slice(100)).toEqual([
      {
        id: 't-104',
        price: null,
        qty: null,
        active: null,
        tags: null,
        zip: '00104',
        meta: '',
        mixed: '',
        note: '',
      },
      {
        id: 't-105',
        price: 7.5,
        qty: 105,
        active: false,
        tags: [],
        zip: '00105',
        meta: '{"shelf":1}',
        mixed: 'x',
        note: '',
      },
      {
        id: 't-106',
        price: 1,
        qty: 2.5,
        active: true,
        tags: ['b'],
        zip: '00106',
        meta: '{"shelf":2}',
        mixed: 'true',
        note: 'now a note',
      },
    ]);
    expect(errors).toEqual([
      {
        record: 101,
        line: 101,
        id: 't-101',
        reason: 'record 101 (line 101), column "price": expected a number, got "cheap"',
      },
      {
        record: 102,
        line: 102,
        id: 't-102',
        reason: 'record 102 (line 102), column "active": expected true or false, got "yes"',
      },
      {
        record: 103,
        line: 103,
        id: 't-103',
        reason: 'record 103 (line 103), column "tags": expected a JSON array, got "red"',
      },
    ]);
    expect(usage.rows).toMatchObject({ read: 106, embedded: 103, rejected: 3 });
    const arrow = await arrowSchema(path.join(dir, 'part-00000.arrow'));
    expect(arrow.fields.filter((field) => FIELDS.split(',').includes(field.name))).toEqual([
      { name: 'price', type: 'Float64', nullable: true },
      { name: 'qty', type: 'Float64', nullable: true },
      { name: 'active', type: 'Bool', nullable: true },
      { name: 'tags', type: 'List<Utf8>', nullable: true },
      { name: 'zip', type: 'Utf8', nullable: false },
      { name: 'meta', type: 'Utf8', nullable: false },
      { name: 'mixed', type: 'Utf8', nullable: false },
      { name: 'note', type: 'Utf8', nullable: false },
    ]);
  });

  it('keeps a field as given with name:type, and CSV cells as text unless declared', async () => {
    // Prepare, Act
    const jsonl = await run('typed-fields.jsonl', ['--keep-columns', 'price:string,qty:integer,zip']);
    const csv = await run('typed-columns.csv', ['--keep-columns', 'price,qty,in_stock,tags']);

    // Assess: qty 2.5 in record 106 is no integer; the CSV's 1e2 and 9007199254740993 stay as written.
    expect([jsonl.status, csv.status]).toEqual([0, 0]);
    expect(said(csv)).toEqual([]);
    const typed = await readOutputFolder(outputDirOf(jsonl));
    expect(await parquetColumnTypes(path.join(outputDirOf(jsonl), 'part-*.parquet'))).toMatchObject({
      price: 'VARCHAR',
      qty: 'BIGINT',
      zip: 'VARCHAR',
    });
    expect(typed.rows.find((row) => row.id === 't-101')).toMatchObject({ price: 'cheap', qty: 101n });
    expect(typed.errors.map((error) => error.reason)).toEqual([
      'record 106 (line 106), column "qty": expected an integer (64 bits), got a number',
    ]);
    const text = await readOutputFolder(outputDirOf(csv));
    expect(Object.values(await parquetColumnTypes(path.join(outputDirOf(csv), 'part-*.parquet')))).toEqual([
      ...Array(7).fill('VARCHAR'),
      'FLOAT[]',
    ]);
    expect(text.rows.map((row) => [row.price, row.qty, row.tags])).toEqual([
      ['29.99', '3', '["kitchen","steel"]'],
      ['', '0', '[]'],
      ['cheap', '1', ''],
      ['1e2', '1.5', '[1,2]'],
      ['-0.5', '9007199254740993', ''],
    ]);
  });
});

describe('Command: run (honest exit status)', () => {
  it('exits 1 with one line when every record was rejected, and still writes the output with an empty part', async () => {
    // Prepare
    const source = path.join(FIXTURES, 'all-rejected.csv');

    // Act
    const result = await run('all-rejected.csv');

    // Assess
    const dir = outputDirOf(result);
    expect(result.status).toBe(1);
    expect(said(result)).toEqual([
      `embed-batch: error: ${source}: every record was rejected (3 of 3) (the first: record 1 (line 2), column "text": empty text); see ${path.join(dir, 'errors.jsonl')}`,
    ]);
    const { manifest, rows } = await readOutputFolder(dir);
    expect(manifest.parts).toEqual([
      { uri: path.join(dir, 'part-00000.parquet'), rows: 0, bytes: expect.any(Number) },
    ]);
    expect(rows).toEqual([]);
    expect(await parquetColumnTypes(path.join(dir, 'part-*.parquet'))).toEqual({
      id: 'VARCHAR',
      text: 'VARCHAR',
      content_hash: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
  });

  it('exits 0 for a file with no records at all, whose empty part reads with the full schema', async () => {
    // Prepare, Act
    const result = await run('header-only.csv');

    // Assess
    expect(result.status).toBe(0);
    expect(said(result)).toEqual([]);
    const dir = outputDirOf(result);
    const usage = JSON.parse(await readFile(path.join(dir, 'usage.json'), 'utf8')) as UsageReport;
    expect(usage.rows.read).toBe(0);
    expect(usage.dimensions).toBe(OFFLINE_DEFAULT_DIMENSIONS);
    expect(Object.keys(await parquetColumnTypes(path.join(dir, 'part-*.parquet')))).toEqual([
      'id',
      'text',
      'content_hash',
      'embedding',
    ]);
  });

  it.each([
    [['--max-rejected', '3'], 1, '4 of 6 records rejected, over --max-rejected 3'],
    [['--max-rejected', '50%'], 1, '4 of 6 records rejected (66.7%), over --max-rejected 50%'],
    [['--max-rejected', '70%'], 0, undefined],
    [['--max-rejected', '4'], 0, undefined],
  ])('with %j exits %i, the output written either way', async (flags, status, message) => {
    // Prepare, Act
    const result = await run('empty-text.csv', flags);

    // Assess
    const dir = outputDirOf(result);
    expect(result.status).toBe(status);
    expect(said(result)).toEqual(
      message === undefined
        ? []
        : [
            `embed-batch: error: ${path.join(FIXTURES, 'empty-text.csv')}: ${message}; see ${path.join(dir, 'errors.jsonl')}`,
          ],
    );
    expect(existsSync(path.join(dir, 'manifest.json'))).toBe(true);
  });

  it.each([
    [
      'products.csv',
      ['--id-column', 'sku'],
      'products.csv: no column "sku" in the header; columns are: id, title, text, category (check --id-column)',
    ],
    [
      'nested-fields.jsonl',
      ['--text-column', 'product.descr'],
      'nested-fields.jsonl: no field "product.descr" in any of the 5 records; fields are: sku, product, product.description, product.title, product.price, product.tags (use --text-column)',
    ],
    [
      'semicolon.csv',
      ['--delimiter', ','],
      'semicolon.csv: no column "text" in the header; columns are: id;text;category;price (use --text-column); the header looks ";"-separated: use --delimiter \';\'',
    ],
  ])(
    'fails %s %j at once with one line naming the file once, and no manifest',
    async (name, flags, message) => {
      // Prepare, Act
      const result = await run(name, flags);

      // Assess
      expect(result.status).toBe(1);
      expect(said(result)).toEqual([`embed-batch: error: ${path.join(FIXTURES, message)}`]);
      expect(result.stdout).toEqual([]);
    },
  );
});

describe('Command line', () => {
  it.each([
    [
      ['--delimeter', ';'],
      'embed-batch: error: run: unknown option --delimeter; did you mean --delimiter? (see embed-batch run --help)',
    ],
    [
      ['--keep-column', 'a'],
      'embed-batch: error: run: unknown option --keep-column; did you mean --keep-columns? (see embed-batch run --help)',
    ],
    [['--zzz'], 'embed-batch: error: run: unknown option --zzz (see embed-batch run --help)'],
    [
      ['--delimiter', ':'],
      'embed-batch: error: Expected `--delimiter` to be one of , ; tab | (or comma, semicolon, pipe), got ":"',
    ],
    [
      ['--encoding', 'utf-32'],
      'embed-batch: error: Expected `--encoding` to be one of utf-8, utf-16le, utf-16be, windows-1252, latin1, got "utf-32"',
    ],
    [
      ['--max-rejected', '120%'],
      'embed-batch: error: Expected `--max-rejected` to be a number of records (e.g. 10) or a percentage up to 100% (e.g. 5%), got "120%"',
    ],
  ])('refuses %j with one line', async (flags, line) => {
    // Prepare, Act
    const result = await runCli(['run', path.join(FIXTURES, 'products.csv'), ...flags]);

    // Assess
    expect(result).toEqual({ status: 1, stdout: [], stderr: [line] });
  });

  it.each([
    ['rn', 'embed-batch: unknown command "rn"; did you mean run?'],
    ['reindx', 'embed-batch: unknown command "reindx"; did you mean reindex?'],
    ['serve', 'embed-batch: unknown command "serve"; did you mean serve-local?'],
    ['frobnicate', 'embed-batch: unknown command "frobnicate"'],
  ])('answers the unknown command %j with the closest one', async (command, line) => {
    // Prepare, Act
    const result = await runCli([command]);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr[0]?.split('\n')[0]).toBe(line);
  });

  it('names an --out that is a file as such', async () => {
    // Prepare
    const file = path.join(out, 'taken');
    await writeFile(file, 'x');

    // Act
    const direct = await runCli(['run', path.join(FIXTURES, 'products.csv'), '--out', file]);
    const below = await runCli(['run', path.join(FIXTURES, 'products.csv'), '--out', path.join(file, 'sub')]);

    // Assess
    expect(direct.status).toBe(1);
    expect(direct.stderr).toEqual([
      `embed-batch: error: Expected \`--out\` to be a folder, but ${file} is a file`,
    ]);
    expect(below.stderr.at(-1)).toContain('Expected `--out` to be a folder, but ');
    expect(below.stderr.at(-1)).toContain('in its path is a file');
  });

  it('prints the version, a command help, and the demo help', async () => {
    // Prepare
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };

    // Act
    const version = await runCli(['--version']);
    const helpRun = await runCli(['help', 'run']);
    const demoHelp = await runCli(['demo', '--help']);
    const helpUnknown = await runCli(['help', 'nope']);

    // Assess
    expect(version).toEqual({ status: 0, stdout: [`embed-batch ${pkg.version}`], stderr: [] });
    expect(helpRun.status).toBe(0);
    expect(helpRun.stdout[0]).toMatch(/^Usage: embed-batch run <input\.\.\.>/);
    expect(helpRun.stdout.join('\n')).toContain('--delimiter');
    expect(demoHelp.status).toBe(0);
    expect(demoHelp.stdout[0]).toMatch(/^Usage: embed-batch demo \[--out DIR\]/);
    expect(helpUnknown.status).toBe(1);
    expect(helpUnknown.stderr[0]?.split('\n')[0]).toBe('embed-batch: no command "nope"');
  });

  it('reindexes a local input folder with or without the trailing slash, into output/ beside it', async () => {
    // Prepare
    await mkdir(path.join(out, 'input'));
    await writeFile(path.join(out, 'input', 'a.csv'), 'id,text\n1,hello\n');

    // Act
    const bare = await runCli(['reindex', path.join(out, 'input')]);
    const slashed = await runCli(['reindex', `${path.join(out, 'input')}/`]);

    // Assess
    expect(bare.status).toBe(0);
    expect(bare.stdout.at(-1)).toBe('reindex: 0 up to date, 1 processed, 0 failed');
    expect(slashed.status).toBe(0);
    expect(slashed.stdout.at(-1)).toBe('reindex: 1 up to date, 0 processed, 0 failed');
    expect(existsSync(path.join(out, 'output'))).toBe(true);
  });
});
