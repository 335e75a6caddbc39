import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { OutputFile, SourceInfo } from '../../lambda/types.ts';
import { emptyRequestStats } from '../../lambda/types.ts';
import { ErrorsWriter } from '../../lambda/write/ErrorsWriter.ts';
import { commitOutput, manifestUri, prepareOutput, readManifest } from '../../lambda/write/OutputFolder.ts';
import { scratchPartName, scratchUri } from '../../lambda/write/OutputLayout.ts';
import { PartWriter, partFileName } from '../../lambda/write/PartWriter.ts';
import { buildUsageReport, type UsageReport } from '../../lambda/write/UsageReport.ts';
import { embeddedRows, TEST_MODEL, useTempDir } from '../helpers/embeddedRows.ts';
import { RecordingLocalStore } from '../helpers/RecordingLocalStore.ts';
import { duckdbQuery, readOutputFolder, sqlString } from '../helpers/readOutput.ts';

const SOURCE: SourceInfo = { uri: 'in/products.csv', etag: 'abc-1', bytes: 1234, format: 'csv' };

function usageFor(outputs: readonly OutputFile[], embedded: number, rejected = 0): UsageReport {
  return buildUsageReport({
    source: SOURCE,
    format: 'csv',
    model: TEST_MODEL,
    dimensions: 8,
    endpoint: 'http://127.0.0.1:8080/v1',
    rows: { read: embedded + rejected, embedded, rejected, deduplicated: 0, reused: 0 },
    tokens: { prompt: 10, total: 10 },
    requests: emptyRequestStats(),
    startedAt: new Date('2026-01-01T00:00:00Z'),
    finishedAt: new Date('2026-01-01T00:00:01Z'),
    outputs,
  });
}

/** Writes a run's parts and errors to the scratch folder, as the pipeline does; returns what to commit. */
async function stage(
  store: LocalStore,
  dir: string,
  rows: number,
  rowsPerPart: number,
  format: 'parquet' | 'both' = 'parquet',
) {
  const parts = new PartWriter(store, dir, {
    model: TEST_MODEL,
    sourceUri: SOURCE.uri,
    rowsPerPart,
    format,
    fileName: scratchPartName(partFileName),
  });
  const errors = new ErrorsWriter(store, scratchUri(dir, 'errors.jsonl.partial'));
  await parts.addMany(embeddedRows(rows));
  await errors.add({ record: rows + 1, reason: 'empty text' });
  const outputs = await parts.finish();
  const errorsFile = await errors.finish();
  return {
    usage: usageFor(outputs, rows, 1),
    parts: outputs,
    errors: errorsFile,
    format,
    createdAt: new Date('2026-01-01T00:00:02Z'),
  };
}

async function run(
  store: LocalStore,
  dir: string,
  rows: number,
  rowsPerPart: number,
  format?: 'parquet' | 'both',
) {
  await prepareOutput(store, dir);
  return commitOutput(store, dir, await stage(store, dir, rows, rowsPerPart, format));
}

/** Rows DuckDB counts over every Parquet file below `dir`, scratch included. */
async function globRows(dir: string): Promise<number> {
  const [row] = await duckdbQuery(
    `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(path.join(dir, '**', '*.parquet'))})`,
  );
  return Number(row?.n);
}

/** A real LocalStore that fails every call after the first `budget` writes, renames and deletes. */
class CrashingStore extends LocalStore {
  constructor(private budget: number) {
    super();
  }
  #spend(): void {
    if (this.budget-- <= 0) throw new Error('crash');
  }
  override async put(uri: string, body: Uint8Array | string) {
    this.#spend();
    return super.put(uri, body);
  }
  override async rename(from: string, to: string) {
    this.#spend();
    return super.rename(from, to);
  }
  override async delete(uris: readonly string[]) {
    this.#spend();
    return super.delete(uris);
  }
}

describe('Function: prepareOutput', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it('leaves a complete output as it is and returns its manifest', async () => {
    // Prepare
    await run(store, dir, 3, 10);
    const before = await readManifest(store, dir);

    // Act
    const manifest = await prepareOutput(store, dir);

    // Assess
    expect(manifest).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual([
      'errors.jsonl',
      'manifest.json',
      'part-00000.parquet',
      'usage.json',
    ]);
  });

  it('removes the _previous-* staging copies older versions left behind', async () => {
    // Prepare
    await run(store, dir, 3, 10);
    await mkdir(path.join(dir, '_previous-0a1b2c3d'));
    await writeFile(path.join(dir, '_previous-0a1b2c3d', 'part-00000.parquet'), 'stale copy');

    // Act
    await prepareOutput(store, dir);

    // Assess
    expect((await readdir(dir)).sort()).toEqual([
      'errors.jsonl',
      'manifest.json',
      'part-00000.parquet',
      'usage.json',
    ]);
  });

  it('works on a folder that does not exist yet', async () => {
    // Act & Assess
    expect(await prepareOutput(store, path.join(dir, 'new', 'folder'))).toBeUndefined();
  });
});

describe('Function: commitOutput', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it('moves the scratch parts into place, then writes usage.json and manifest.json last', async () => {
    // Prepare
    const recording = new RecordingLocalStore();
    const staged = await stage(recording, dir, 5, 2);
    recording.calls.length = 0;

    // Act
    const { manifestUri: uri } = await commitOutput(recording, dir, staged);

    // Assess
    expect(uri).toBe(manifestUri(dir));
    expect(recording.calls).toEqual([
      'put commit.json',
      'delete manifest.json',
      'rename part-00000.parquet.partial part-00000.parquet',
      'rename part-00001.parquet.partial part-00001.parquet',
      'rename part-00002.parquet.partial part-00002.parquet',
      'rename errors.jsonl.partial errors.jsonl',
      'put usage.json',
      'put manifest.json',
      'delete errors.jsonl.partial.seg-00000',
      'delete commit.json',
    ]);
    const output = await readOutputFolder(dir);
    expect(output.manifest).toEqual({
      version: 1,
      source: { uri: SOURCE.uri, etag: 'abc-1', bytes: 1234 },
      model: TEST_MODEL,
      dimensions: 8,
      format: 'parquet',
      rows: 5,
      parts: [
        { uri: path.join(dir, 'part-00000.parquet'), rows: 2, bytes: expect.any(Number) },
        { uri: path.join(dir, 'part-00001.parquet'), rows: 2, bytes: expect.any(Number) },
        { uri: path.join(dir, 'part-00002.parquet'), rows: 1, bytes: expect.any(Number) },
      ],
      errors: { uri: path.join(dir, 'errors.jsonl'), rows: 1 },
      usage: path.join(dir, 'usage.json'),
      created_at: '2026-01-01T00:00:02.000Z',
    });
    expect((output.usage as unknown as UsageReport).outputs.map((o) => o.uri)).toEqual(
      output.manifest.parts.map((p) => p.uri),
    );
    expect(output.rows.map((row) => row.id)).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5']);
    expect(output.errors).toEqual([{ record: 6, reason: 'empty text' }]);
    expect(output.usage).toMatchObject({ rows: { read: 6, embedded: 5, rejected: 1 } });
    expect((await readdir(dir)).sort()).toEqual([
      'errors.jsonl',
      'manifest.json',
      'part-00000.parquet',
      'part-00001.parquet',
      'part-00002.parquet',
      'usage.json',
    ]);
  });

  it('keeps the earlier output complete while a new run stages, then removes parts it no longer lists', async () => {
    // Prepare
    await run(store, dir, 7, 2, 'both');
    await mkdir(path.join(dir, 'nested'));
    await writeFile(path.join(dir, 'nested', 'part-00009.parquet'), 'another output folder');
    await writeFile(path.join(dir, 'notes-part-00009.parquet'), 'not ours');
    const staged = await stage(store, dir, 3, 2, 'both');
    const duringRun = await readManifest(store, dir);

    // Act
    await commitOutput(store, dir, staged);

    // Assess
    expect(duringRun?.rows).toBe(7);
    expect((await readdir(dir)).sort()).toEqual([
      'errors.jsonl',
      'manifest.json',
      'nested',
      'notes-part-00009.parquet',
      'part-00000.arrow',
      'part-00000.parquet',
      'part-00001.arrow',
      'part-00001.parquet',
      'usage.json',
    ]);
    const manifest = await readManifest(store, dir);
    expect(manifest?.rows).toBe(3);
    expect(manifest?.parts.map((p) => path.basename(p.uri))).toEqual([
      'part-00000.parquet',
      'part-00000.arrow',
      'part-00001.parquet',
      'part-00001.arrow',
    ]);
    expect(await readdir(path.join(dir, 'nested'))).toEqual(['part-00009.parquet']);
  });

  it('never shows a manifest over parts it does not list, whatever step a crash hits, and the next run finishes the commit', async () => {
    for (let budget = 0; budget < 12; budget++) {
      // Prepare: an earlier output of 7 rows, a new run of 3 staged in the scratch folder
      const folder = path.join(dir, `crash-${budget}`);
      await run(store, folder, 7, 2);
      const staged = await stage(store, folder, 3, 2);

      // Act: the commit dies after `budget` writes
      await commitOutput(new CrashingStore(budget), folder, staged).catch(() => undefined);
      const manifest = await readManifest(store, folder);
      const seen = await globRows(folder);
      await prepareOutput(store, folder);

      // Assess: at the crash, either no manifest or exactly its rows; after the replay, the
      // new output once the commit was decided (its record written: the first write), else the earlier one
      const expected = budget === 0 ? 7 : 3;
      if (manifest !== undefined) expect(seen, `crash after ${budget} writes`).toBe(manifest.rows);
      expect((await readManifest(store, folder))?.rows, `crash after ${budget} writes`).toBe(expected);
      expect(await globRows(folder)).toBe(expected);
      if (budget > 0) expect((await readdir(folder)).filter((name) => name.startsWith('_'))).toEqual([]);
    }
  });

  it('writes a manifest with no parts when every record was rejected', async () => {
    // Act
    await run(store, dir, 0, 2);

    // Assess
    const manifest = await readManifest(store, dir);
    expect(manifest).toMatchObject({ rows: 0, parts: [], errors: { rows: 1 } });
  });
});
