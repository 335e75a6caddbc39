import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import type { LocalServer, LocalServerOptions } from '../../lambda/serve/startLocalServer.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { UsageReport } from '../../lambda/write/UsageReport.ts';
import { cleanEnv, runCli } from '../helpers/cli.ts';
import {
  type ExpectedRow,
  expectedCsvRows,
  expectedJsonlRows,
  expectNoManifest,
  expectOutputRows,
} from '../helpers/expectOutput.ts';
import { parquetColumnTypes, parquetMetadata, readArrowRows } from '../helpers/readOutput.ts';

const FIXTURES = path.resolve('fixtures');

/** Inputs written by the tests live here; outputs go to `out` below it. */
let root: string;
let out: string;
let server: LocalServer | undefined;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'embed-batch-e2e-'));
  out = path.join(root, 'out');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(root, { recursive: true, force: true });
});

async function serve(options: LocalServerOptions = {}): Promise<LocalServer> {
  server = await startLocalServer(options);
  return server;
}

/** `embed-batch run <file> --out <out> --base-url <server> --model local/feature-hash <extra>`. */
function runAgainst(s: LocalServer, file: string, extra: string[] = [], env = cleanEnv()) {
  return runCli(['run', file, '--out', out, '--base-url', s.url, '--model', OFFLINE_MODEL, ...extra], env);
}

async function usageOf(dir: string): Promise<UsageReport> {
  return JSON.parse(await readFile(path.join(dir, 'usage.json'), 'utf8')) as UsageReport;
}

/** A JSONL file of `n` distinct product-like texts, for jobs of several batches. */
async function writeJsonl(name: string, n: number): Promise<{ file: string; rows: ExpectedRow[] }> {
  const rows = Array.from({ length: n }, (_, i) => ({
    id: `row-${i + 1}`,
    text: `Item ${i + 1}: a ${['red', 'green', 'blue'][i % 3]} widget with ${i % 7} gears and ${i % 5} springs`,
  }));
  const file = path.join(root, name);
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  return { file, rows };
}

/** Output folder of a file written by `writeJsonl` (its path below the cwd is outside it: the file name). */
function outDirOf(name: string): string {
  return path.join(out, name);
}

describe('Command: embed-batch run (end to end against serve-local)', () => {
  it('embeds a CSV file into Parquet whose every vector is the embedding of its own row', async () => {
    // Prepare
    const s = await serve();
    const file = path.join(FIXTURES, 'products.csv');

    // Act
    const result = await runAgainst(s, file, ['--keep-columns', 'title,category', '--batch-size', '7']);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const dir = path.join(out, 'fixtures', 'products.csv');
    const output = await expectOutputRows(dir, await expectedCsvRows(file));
    const part = path.join(dir, 'part-00000.parquet');
    expect(await parquetColumnTypes(part)).toEqual({
      id: 'VARCHAR',
      text: 'VARCHAR',
      title: 'VARCHAR',
      category: 'VARCHAR',
      content_hash: 'VARCHAR',
      embedding: 'FLOAT[]',
    });
    const metadata = await parquetMetadata(part);
    expect(metadata['embedding.model']).toBe(OFFLINE_MODEL);
    expect(metadata['embedding.dimensions']).toBe('384');
    expect(metadata['source.uri']).toBe(file);
    expect(metadata.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(output.rows[0]?.title).toBe('Trail Running Shoe');
    const usage = await usageOf(dir);
    expect(usage.rows).toEqual({ read: 40, embedded: 40, rejected: 0, deduplicated: 0, reused: 0 });
    expect(usage.requests.sent).toBe(Math.ceil(40 / 7));
    expect(usage.endpoint).toBe(s.url);
    expect(usage.tokens.total).toBeGreaterThan(0);
  });

  it('embeds a JSONL file into Parquet and Arrow with the same rows', async () => {
    // Prepare
    const s = await serve();
    const file = path.join(FIXTURES, 'products.jsonl');

    // Act
    const result = await runAgainst(s, file, ['--format', 'both']);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const dir = path.join(out, 'fixtures', 'products.jsonl');
    const output = await expectOutputRows(dir, await expectedJsonlRows(file));
    const arrowRows = await readArrowRows(path.join(dir, 'part-00000.arrow'));
    expect(arrowRows.map((r) => [r.id, r.text, r.embedding])).toEqual(
      output.rows.map((r) => [r.id, r.text, r.embedding]),
    );
  });

  it('sends identical texts once and still writes a row for each record', async () => {
    // Prepare
    const s = await serve();
    const file = path.join(root, 'dupes.jsonl');
    const texts = ['alpha beta', 'gamma delta', 'alpha beta', 'alpha beta', 'gamma delta', 'epsilon'];
    await writeFile(file, texts.map((text, i) => JSON.stringify({ id: i + 1, text })).join('\n'));

    // Act
    const result = await runAgainst(s, file, ['--batch-size', '2']);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    await expectOutputRows(
      outDirOf('dupes.jsonl'),
      texts.map((text, i) => ({ id: String(i + 1), text })),
    );
    const usage = await usageOf(outDirOf('dupes.jsonl'));
    expect(usage.rows.deduplicated).toBe(3);
    expect(s.stats.inputs).toBe(3);
  });
});

describe('Command: embed-batch run (endpoint faults)', () => {
  const cases: {
    name: string;
    server: LocalServerOptions;
    flags?: string[];
    check: (u: UsageReport) => void;
  }[] = [
    {
      name: '429 with Retry-After in seconds',
      server: { faults: '429x2', retryAfter: 'seconds' },
      check: (u) => {
        expect(u.requests.throttled).toBe(2);
        expect(u.requests.by_status['429']).toBe(2);
      },
    },
    {
      name: '429 with Retry-After as an HTTP date',
      server: { faults: '429x2', retryAfter: 'date' },
      check: (u) => expect(u.requests.throttled).toBe(2),
    },
    {
      name: '429 with retry-after-ms',
      server: { faults: '429', retryAfter: 'ms' },
      check: (u) => expect(u.requests.throttled).toBe(1),
    },
    {
      name: 'a burst of 500 and 503',
      server: { faults: '500x2,503x2' },
      check: (u) => {
        expect(u.requests.by_status['500']).toBe(2);
        expect(u.requests.by_status['503']).toBe(2);
      },
    },
    {
      name: 'connection resets',
      server: { faults: 'reset,reset' },
      check: (u) => expect(u.requests.retried).toBeGreaterThanOrEqual(2),
    },
    {
      name: 'a hanging request (client timeout)',
      server: { faults: 'hang' },
      flags: ['--timeout-ms', '400'],
      check: (u) => expect(u.requests.by_status.timeout).toBe(1),
    },
    {
      name: 'a response with the wrong count',
      server: { faults: 'wrong-count' },
      check: (u) => expect(u.requests.retried).toBeGreaterThanOrEqual(1),
    },
    {
      name: 'a truncated JSON body',
      server: { faults: 'bad-json' },
      check: (u) => expect(u.requests.retried).toBeGreaterThanOrEqual(1),
    },
    {
      name: 'a server that ignores base64 and sends floats',
      server: { floatsOnly: true },
      check: (u) => expect(u.requests.retried).toBe(0),
    },
    {
      name: 'data in reverse index order',
      server: { reverseOrder: true },
      check: (u) => expect(u.requests.retried).toBe(0),
    },
    {
      name: '413 above 5 inputs (batches are split)',
      server: { maxInputs: 5 },
      check: (u) => {
        expect(u.requests.by_status['413']).toBeGreaterThan(0);
        expect(u.requests.failed).toBe(0);
      },
    },
  ];

  it.each(cases)(
    'ends with every row embedded correctly after $name',
    async ({ server: options, flags, check }) => {
      // Prepare
      const s = await serve(options);
      const { file, rows } = await writeJsonl('faults.jsonl', 60);

      // Act
      const result = await runAgainst(s, file, ['--batch-size', '16', ...(flags ?? [])]);

      // Assess
      expect(result.status, result.stderr.join('\n')).toBe(0);
      await expectOutputRows(outDirOf('faults.jsonl'), rows);
      const usage = await usageOf(outDirOf('faults.jsonl'));
      expect(usage.rows).toMatchObject({ read: 60, embedded: 60, rejected: 0 });
      expect(usage.requests.sent).toBe(s.stats.requests);
      check(usage);
    },
  );

  it('puts a single input the server refuses even alone into errors.jsonl and embeds the rest', async () => {
    // Prepare
    const s = await serve({ maxInputChars: 100 });
    const file = path.join(root, 'long.jsonl');
    const texts = ['short one', 'x'.repeat(150), 'short two', 'short three'];
    await writeFile(file, texts.map((text, i) => JSON.stringify({ id: `t${i + 1}`, text })).join('\n'));

    // Act
    const result = await runAgainst(s, file);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const output = await expectOutputRows(outDirOf('long.jsonl'), [
      { id: 't1', text: 'short one' },
      { id: 't3', text: 'short two' },
      { id: 't4', text: 'short three' },
    ]);
    expect(output.errors).toHaveLength(1);
    expect(output.errors[0]).toMatchObject({ record: 2, id: 't2' });
    expect(String(output.errors[0]?.reason)).toMatch(/refused/);
    const usage = await usageOf(outDirOf('long.jsonl'));
    expect(usage.rows).toMatchObject({ read: 4, embedded: 3, rejected: 1 });
  });
});

describe('Command: embed-batch run (fatal endpoint errors)', () => {
  it('fails at once on a refused API key: exit 1, one line, no retries, no manifest, no key printed', async () => {
    // Prepare
    const s = await serve({ apiKey: 'the-right-key' });
    const { file } = await writeJsonl('auth.jsonl', 50);
    const env = cleanEnv({ EMBEDDINGS_API_KEY: 'wrong-key-8d1f0c' });

    // Act
    const result = await runAgainst(s, file, ['--batch-size', '10', '--concurrency', '2'], env);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/API key|401/);
    expect(result.stderr.join('\n') + result.stdout.join('\n')).not.toContain('wrong-key-8d1f0c');
    expect(s.stats.requests).toBeLessThanOrEqual(2);
    expectNoManifest(outDirOf('auth.jsonl'));
  });

  it('fails at once on an unknown model: exit 1, one line naming the model, no manifest', async () => {
    // Prepare
    const s = await serve();
    const { file } = await writeJsonl('model.jsonl', 50);

    // Act
    const result = await runCli([
      'run',
      file,
      '--out',
      out,
      '--base-url',
      s.url,
      '--model',
      'acme/no-such-model',
    ]);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toContain('acme/no-such-model');
    expect(s.stats.requests).toBeLessThanOrEqual(2);
    expectNoManifest(outDirOf('model.jsonl'));
  });

  it('keeps the earlier complete output when a rerun fails with 401, and the next good run reuses it', async () => {
    // Prepare: a complete output, then one row more in the source
    const s = await serve({ apiKey: 'k1' });
    const { file, rows } = await writeJsonl('rerun.jsonl', 10);
    expect((await runAgainst(s, file, [], cleanEnv({ EMBEDDINGS_API_KEY: 'k1' }))).status).toBe(0);
    const added = { id: 'row-11', text: 'Item 11: a brand new widget' };
    await writeFile(file, [...rows, added].map((r) => JSON.stringify(r)).join('\n'));

    // Act: a rerun with a wrong key, then one with the right key
    const failed = await runAgainst(s, file, [], cleanEnv({ EMBEDDINGS_API_KEY: 'k2' }));
    const kept = await expectOutputRows(outDirOf('rerun.jsonl'), rows);
    const inputsBefore = s.stats.inputs;
    const good = await runAgainst(s, file, [], cleanEnv({ EMBEDDINGS_API_KEY: 'k1' }));

    // Assess
    expect(failed.status).toBe(1);
    expect(kept.rows).toHaveLength(10);
    expect(good.status, good.stderr.join('\n')).toBe(0);
    await expectOutputRows(outDirOf('rerun.jsonl'), [...rows, added]);
    expect(s.stats.inputs - inputsBefore).toBe(1);
    expect((await usageOf(outDirOf('rerun.jsonl'))).rows.reused).toBe(10);
  });
});

describe('Command: embed-batch run (bad input)', () => {
  const fixtures = [
    'ragged-rows.csv',
    'empty-text.csv',
    'invalid-utf8.csv',
    'invalid-utf8.jsonl',
    'not-an-object.jsonl',
    'invalid-json.jsonl',
    'missing-text-field.jsonl',
    'oversize-record.csv',
    'oversize-record.jsonl',
    'text-types.jsonl',
    'bom-crlf.csv',
    'quoted-newlines.csv',
    'mixed-line-endings.csv',
    'blank-lines.jsonl',
  ];

  it.each(fixtures)('accounts for every record of %s: embedded or named in errors.jsonl', async (name) => {
    // Prepare
    const s = await serve();
    const file = path.join(FIXTURES, name);
    const maxRecordBytes = name.startsWith('oversize') ? ['--max-record-bytes', '256'] : [];

    // Act
    const result = await runAgainst(s, file, maxRecordBytes);

    // Assess
    expect(result.status, result.stderr.join('\n')).toBe(0);
    const dir = path.join(out, 'fixtures', name);
    const usage = await usageOf(dir);
    const errors = (await readFile(path.join(dir, 'errors.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { record: number; reason: string });
    const { readOutputFolder } = await import('../helpers/readOutput.ts');
    const output = await readOutputFolder(dir);
    expect(usage.rows.read).toBe(usage.rows.embedded + usage.rows.rejected);
    expect(output.rows.length).toBe(usage.rows.embedded);
    expect(errors.length).toBe(usage.rows.rejected);
    for (const error of errors) {
      expect(error.reason).toMatch(new RegExp(`record ${error.record}\\b`));
    }
    expect(new Set(errors.map((e) => e.record)).size).toBe(errors.length);
  });

  it('fails with the header columns listed when the text column is missing', async () => {
    // Prepare
    const s = await serve();
    const file = path.join(FIXTURES, 'missing-text-column.csv');

    // Act
    const result = await runAgainst(s, file);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/missing-text-column\.csv.*"text".*columns are/);
    expect(s.stats.requests).toBe(0);
    expectNoManifest(path.join(out, 'fixtures', 'missing-text-column.csv'));
  });
});
