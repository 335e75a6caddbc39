import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { OutputFile, SourceInfo } from '../../lambda/types.ts';
import { emptyRequestStats } from '../../lambda/types.ts';
import { ErrorsWriter } from '../../lambda/write/ErrorsWriter.ts';
import { beginOutput, commitOutput, manifestUri, readManifest } from '../../lambda/write/OutputFolder.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { buildUsageReport, type UsageReport } from '../../lambda/write/UsageReport.ts';
import { embeddedRows, TEST_MODEL, useTempDir } from '../helpers/embeddedRows.ts';
import { RecordingLocalStore } from '../helpers/RecordingLocalStore.ts';
import { readOutputFolder } from '../helpers/readOutput.ts';

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

/** Runs the whole write side for `rows` rows, as the pipeline does. */
async function run(
  store: LocalStore,
  dir: string,
  rows: number,
  rowsPerPart: number,
  format: 'parquet' | 'both' = 'parquet',
) {
  await beginOutput(store, dir);
  const parts = new PartWriter(store, dir, { model: TEST_MODEL, sourceUri: SOURCE.uri, rowsPerPart, format });
  const errors = new ErrorsWriter(store, path.join(dir, 'errors.jsonl'));
  await parts.addMany(embeddedRows(rows));
  await errors.add({ record: rows + 1, reason: 'empty text' });
  const outputs = await parts.finish();
  const errorsFile = await errors.finish();
  return commitOutput(store, dir, {
    usage: usageFor(outputs, rows, 1),
    parts: outputs,
    errors: errorsFile,
    format,
    createdAt: new Date('2026-01-01T00:00:02Z'),
  });
}

describe('Function: beginOutput', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it('deletes an existing manifest before anything is written, and returns it', async () => {
    // Prepare
    await run(store, dir, 3, 10);
    const before = await readManifest(store, dir);

    // Act
    const previous = await beginOutput(store, dir);

    // Assess
    expect(previous).toEqual(before);
    expect(await readManifest(store, dir)).toBeUndefined();
    // The earlier parts stay until the new run commits: an incremental run may still read them.
    expect((await readdir(dir)).sort()).toEqual(['errors.jsonl', 'part-00000.parquet', 'usage.json']);
  });

  it('works on a folder that does not exist yet', async () => {
    // Act & Assess
    expect(await beginOutput(store, path.join(dir, 'new', 'folder'))).toBeUndefined();
  });
});

describe('Function: commitOutput', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it('writes usage.json, then manifest.json last, listing parts, errors and usage', async () => {
    // Prepare
    const recording = new RecordingLocalStore();

    // Act
    const uri = await run(recording, dir, 5, 2);

    // Assess
    expect(uri).toBe(manifestUri(dir));
    expect(recording.calls).toEqual([
      'delete manifest.json',
      'put part-00000.parquet',
      'put part-00001.parquet',
      'put part-00002.parquet',
      'put errors.jsonl',
      'put usage.json',
      'put manifest.json',
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
    expect(output.rows.map((row) => row.id)).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5']);
    expect(output.errors).toEqual([{ record: 6, reason: 'empty text' }]);
    expect(output.usage).toMatchObject({ rows: { read: 6, embedded: 5, rejected: 1 } });
  });

  it('removes parts left by an earlier, longer run before writing the manifest', async () => {
    // Prepare
    await run(store, dir, 7, 2, 'both');
    await mkdir(path.join(dir, 'nested'));
    await writeFile(path.join(dir, 'nested', 'part-00009.parquet'), 'another output folder');
    await writeFile(path.join(dir, 'notes-part-00009.parquet'), 'not ours');

    const recording = new RecordingLocalStore();

    // Act
    await run(recording, dir, 3, 2, 'both');

    // Assess
    expect(recording.calls.slice(-3)).toEqual([
      'put usage.json',
      'delete part-00002.arrow,part-00002.parquet,part-00003.arrow,part-00003.parquet',
      'put manifest.json',
    ]);
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

  it('writes a manifest with no parts when every record was rejected', async () => {
    // Act
    await run(store, dir, 0, 2);

    // Assess
    const manifest = await readManifest(store, dir);
    expect(manifest).toMatchObject({ rows: 0, parts: [], errors: { rows: 1 } });
  });
});
