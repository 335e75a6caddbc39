import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LocalS3 } from './s3Server.ts';

/**
 * Downloads every object directly below an S3 output folder into a fresh
 * temp folder (same file names), so the output can be read with the local
 * readers of `readOutput.ts` (DuckDB for Parquet, apache-arrow for `.arrow`).
 *
 * @returns the local folder and the file names found.
 */
export async function downloadOutputFolder(
  s3: LocalS3,
  bucket: string,
  prefix: string,
): Promise<{ dir: string; files: string[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'embed-batch-s3-output-'));
  await mkdir(dir, { recursive: true });
  const keys = await s3.listKeys(bucket, prefix);
  const files: string[] = [];
  for (const key of keys) {
    const name = key.slice(prefix.length);
    // Only the folder's own files; a nested folder would be another output.
    if (name === '' || name.includes('/')) continue;
    const bytes = await s3.getBytes(bucket, key);
    if (bytes === undefined) continue;
    await writeFile(path.join(dir, name), bytes);
    files.push(name);
  }
  return { dir, files };
}
