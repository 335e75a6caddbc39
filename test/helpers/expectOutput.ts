import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import { type OutputFolderContents, readOutputFolder } from './readOutput.ts';

/** One expected output row: the id and the text the offline embedder must have embedded. */
export interface ExpectedRow {
  readonly id: string;
  readonly text: string;
}

/** Expected rows of a CSV file, parsed by csv-parse directly (not by the project's reader). */
export async function expectedCsvRows(
  file: string,
  idColumn = 'id',
  textColumn = 'text',
): Promise<ExpectedRow[]> {
  const records = parse(await readFile(file), { columns: true, bom: true, skip_empty_lines: true }) as Record<
    string,
    string
  >[];
  return records.map((r, i) => ({ id: r[idColumn] ?? String(i + 1), text: r[textColumn] ?? '' }));
}

/** Expected rows of a JSONL file, parsed with JSON.parse line by line. */
export async function expectedJsonlRows(
  file: string,
  idField = 'id',
  textField = 'text',
): Promise<ExpectedRow[]> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    return { id: String(value[idField] ?? i + 1), text: String(value[textField]) };
  });
}

/**
 * Reads the output folder back with DuckDB and checks that it holds exactly
 * `expected`, in order, and that each row's vector is the offline embedder's
 * vector of that row's own text (so no row is misaligned with another's vector).
 */
export async function expectOutputRows(
  dir: string,
  expected: readonly ExpectedRow[],
  dimensions = 384,
): Promise<OutputFolderContents> {
  expect(existsSync(path.join(dir, 'manifest.json')), `${dir}/manifest.json exists`).toBe(true);
  const output = await readOutputFolder(dir);
  expect(output.rows.map((r) => r.id)).toEqual(expected.map((r) => r.id));
  expect(output.rows.map((r) => r.text)).toEqual(expected.map((r) => r.text));
  for (const [i, row] of output.rows.entries()) {
    const want = Array.from(featureHashEmbed(expected[i]?.text ?? '', dimensions));
    expect(row.embedding, `vector of row ${i} (${row.id})`).toEqual(want);
  }
  return output;
}

/** A folder whose run failed: no manifest, so nothing is presented as done. */
export function expectNoManifest(dir: string): void {
  expect(existsSync(path.join(dir, 'manifest.json')), `${dir}/manifest.json must not exist`).toBe(false);
}
