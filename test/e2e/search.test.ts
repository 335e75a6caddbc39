import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { search as searchOutput } from '../../lambda/api/search.ts';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServer, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { runCli } from '../helpers/cli.ts';
import { duckdbQuery, sqlString } from '../helpers/readOutput.ts';

let root: string;
let out: string;
let server: LocalServer;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-search-'));
  out = path.join(root, 'out');
  server = await startLocalServer({});
});

afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const WORDS = [
  'kettle',
  'teapot',
  'stainless',
  'electric',
  'ceramic',
  'garden',
  'hose',
  'lamp',
  'desk',
  'cable',
];

/** Distinct product texts from a small vocabulary, so queries have near and far matches. */
async function writeProducts(n: number): Promise<string> {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `p-${i}`,
      text: `${WORDS[i % 10]} ${WORDS[(i * 3 + 1) % 10]} ${WORDS[(i * 7 + 2) % 10]} model ${i}`,
      category: ['kitchen', 'garden', 'office'][i % 3],
      price: i + 0.5,
      tags: [`t${i % 4}`, 'all'],
    }),
  );
  const file = path.join(root, 'products.jsonl');
  await writeFile(file, lines.join('\n'));
  return file;
}

async function embed(file: string, extra: string[] = [], into = out): Promise<string> {
  const result = await runCli([
    'run',
    file,
    '--out',
    into,
    '--base-url',
    server.url,
    '--model',
    OFFLINE_MODEL,
    '--keep-columns',
    'category,price:number,tags:list',
    '--part-rows',
    '70',
    ...extra,
  ]);
  expect(result.status, result.stderr.join('\n')).toBe(0);
  return path.join(into, path.basename(file));
}

interface SearchJson {
  query: string;
  model: string;
  dimensions: number;
  rows_scanned: number;
  hits: {
    rank: number;
    score: number;
    id: string;
    text?: string;
    columns: Record<string, unknown>;
    part: string;
    row: number;
  }[];
}

async function search(target: string, query: string, extra: string[] = []): Promise<SearchJson> {
  const result = await runCli(['search', target, query, '--json', ...extra]);
  expect(result.status, result.stderr.join('\n')).toBe(0);
  return JSON.parse(result.stdout.join('\n')) as SearchJson;
}

/** DuckDB's own brute force over the same Parquet parts, with the query embedded independently. */
async function duckdbTopK(dir: string, query: string, k: number): Promise<{ id: string; score: number }[]> {
  const vector = Array.from(featureHashEmbed(query, 384)).join(',');
  const rows = await duckdbQuery(
    `select id, array_cosine_similarity(embedding::FLOAT[384], [${vector}]::FLOAT[384]) as score
     from read_parquet(${sqlString(path.join(dir, 'part-*.parquet'))})
     order by score desc, id limit ${k}`,
  );
  return rows.map((row) => ({ id: String(row.id), score: Number(row.score) }));
}

/** Local files whose byte ranges come from memory, without waiting on the disk. */
class InstantReadStore extends LocalStore {
  readonly #files = new Map<string, Uint8Array>();

  override async readRange(uri: string, start: number, length: number): Promise<Uint8Array> {
    let bytes = this.#files.get(uri);
    if (bytes === undefined) {
      bytes = await readFile(uri);
      this.#files.set(uri, bytes);
    }
    return bytes.slice(start, start + length);
  }
}

describe('Command: embed-batch search', () => {
  it('finds the same top k as DuckDB brute-force cosine over the same parts, with the kept columns', async () => {
    // Prepare
    const dir = await embed(await writeProducts(400));
    const query = 'electric stainless kettle';

    // Act
    const found = await search(dir, query, ['-k', '12']);
    // More than 12, so that rows tied with the 12th (which either side may pick) are all there.
    const expected = await duckdbTopK(dir, query, 40);

    // Assess
    expect(found).toMatchObject({ query, model: OFFLINE_MODEL, dimensions: 384, rows_scanned: 400 });
    expect(found.hits.map((h) => h.rank)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    found.hits.forEach((hit, i) => {
      expect(hit.score).toBeCloseTo(expected[i]?.score ?? Number.NaN, 5);
    });
    // Rank by rank the same row, or one DuckDB scores the same (ties may come in either order).
    found.hits.forEach((hit, i) => {
      const tied = expected
        .filter((e) => Math.abs(e.score - (expected[i]?.score ?? 0)) < 1e-6)
        .map((e) => e.id);
      expect(tied).toContain(hit.id);
    });
    expect(new Set(found.hits.map((h) => h.id)).size).toBe(12);
    const best = found.hits[0];
    const n = Number(best?.id.slice(2));
    expect(best).toMatchObject({
      text: `${WORDS[n % 10]} ${WORDS[(n * 3 + 1) % 10]} ${WORDS[(n * 7 + 2) % 10]} model ${n}`,
      columns: {
        category: ['kitchen', 'garden', 'office'][n % 3],
        price: n + 0.5,
        tags: [`t${n % 4}`, 'all'],
      },
    });
    expect(path.basename(best?.part ?? '')).toMatch(/^part-\d{5}\.parquet$/);
  });

  it('reads Arrow parts (format arrow, or one named) to the same result as Parquet, and prints one line per hit', async () => {
    // Prepare
    const file = await writeProducts(150);
    const dir = await embed(file, ['--format', 'both']);
    const arrowDir = await embed(file, ['--format', 'arrow'], path.join(root, 'arrow-out'));
    const query = 'ceramic teapot';

    // Act
    const both = await search(dir, query, ['-k', '5']);
    const arrow = await search(arrowDir, query, ['-k', '5']);
    const oneArrowPart = await search(path.join(dir, 'part-00000.arrow'), query, ['-k', '3']);
    const parquetOnly = await search(path.join(dir, 'part-00001.parquet'), query, ['-k', '3']);
    const lines = await runCli(['search', dir, query, '-k', '3']);
    const parquetParts = await search(path.join(dir, 'part-00000.parquet'), query, ['-k', '5']);

    // Assess: of both formats, the Parquet parts are searched, and give what DuckDB finds in them;
    // the Arrow parts give what the Parquet parts give
    expect(both.hits.every((h) => h.part.endsWith('.parquet'))).toBe(true);
    expect(arrow.hits.every((h) => h.part.endsWith('.arrow'))).toBe(true);
    expect(oneArrowPart.rows_scanned).toBe(70);
    const expected = await duckdbTopK(dir, query, 5);
    expect(both.hits.map((h) => h.score)).toEqual(expected.map((e) => expect.closeTo(e.score, 5)));
    expect(arrow.hits.map((h) => [h.id, h.columns])).toEqual(both.hits.map((h) => [h.id, h.columns]));
    expect(oneArrowPart.hits.map((h) => [h.id, h.columns, h.row, h.score])).toEqual(
      parquetParts.hits.slice(0, 3).map((h) => [h.id, h.columns, h.row, expect.closeTo(h.score, 6)]),
    );
    expect(parquetOnly.rows_scanned).toBe(70);
    expect(lines.stdout).toHaveLength(3);
    expect(lines.stdout[0]).toMatch(
      /^1\. \d\.\d{4} {2}p-\d+ {2}category=\w+ price=[\d.]+ tags=\["t\d","all"\] {2}\w+ /,
    );
  });

  it('gives each of two searches run at once in one process what it gives alone', async () => {
    // Prepare: two outputs of several row groups each, searched through the library
    const first = await embed(await writeProducts(300), ['--part-rows', '100']);
    const second = await embed(await writeProducts(220), ['--part-rows', '60']);
    // Reads answered from memory at once, so the two scans interleave at every step.
    const store = new InstantReadStore();
    const alone = [
      await searchOutput(first, 'ceramic teapot', { k: 7, store }),
      await searchOutput(second, 'steel kettle', { k: 7, store }),
    ];

    // Act
    const together = await Promise.all([
      searchOutput(first, 'ceramic teapot', { k: 7, store }),
      searchOutput(second, 'steel kettle', { k: 7, store }),
    ]);

    // Assess
    expect(together).toEqual(alone);
    expect(alone[0]?.hits).toHaveLength(7);
  });

  it('says "no rows" for an output with no rows, without embedding the query', async () => {
    // Prepare
    const file = path.join(root, 'empty.csv');
    await writeFile(file, 'id,text\n');
    const dir = await embed(file, ['--keep-columns', '']);
    const requests = server.stats.requests;

    // Act
    const human = await runCli(['search', dir, 'anything']);
    const json = await search(dir, 'anything');

    // Assess
    expect(human.status).toBe(0);
    expect(human.stdout).toEqual(['no rows']);
    expect(json).toMatchObject({ rows_scanned: 0, hits: [] });
    expect(server.stats.requests).toBe(requests);
    expect(await readdir(dir)).toContain('part-00000.parquet');
  });

  it('fails with one line for a folder that is not a complete output', async () => {
    // Act
    const result = await runCli(['search', root, 'anything']);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toEqual([expect.stringContaining('no manifest.json here')]);
  });
});
