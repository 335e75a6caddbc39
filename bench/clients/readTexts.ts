import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

/** The `text` column of a benchmark CSV, in order: what a peer would send. */
export async function readTexts(file: string): Promise<string[]> {
  const rows = parse(await readFile(file), { columns: true, skip_empty_lines: true }) as { text: string }[];
  return rows.map((row) => row.text);
}
