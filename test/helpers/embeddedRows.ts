import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { EmbeddedRow, InputRecord } from '../../lambda/types.ts';
import { contentHash } from '../../lambda/write/contentHash.ts';

/** Model id the builders hash into `content_hash`. */
export const TEST_MODEL = 'test/model';

/**
 * A deterministic unit vector whose components are not round numbers, so a
 * float32 round trip is actually tested (mulberry32 seeded by `seed`).
 */
export function unitVector(seed: number, dimensions: number): Float32Array {
  let state = (seed + 1) * 0x9e3779b9;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const value = next() * 2 - 1;
    vector[i] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] as number) * scale;
  return vector;
}

/** Options of `embeddedRow`. */
export interface EmbeddedRowOptions {
  /** @default 8 */
  readonly dimensions?: number;
  /** @default `text of row <n>` with a non-ASCII tail */
  readonly text?: string;
  /** @default { category: `cat-<n % 3>` } */
  readonly keep?: Record<string, string>;
  /** @default TEST_MODEL */
  readonly model?: string;
}

/** Embedded row number `n` (1-based record number): id `id-<n>`, a unit vector seeded by `n`. */
export function embeddedRow(n: number, options: EmbeddedRowOptions = {}): EmbeddedRow {
  const text = options.text ?? `text of row ${n} — naïve café 🚀`;
  const record: InputRecord = {
    record: n,
    line: n + 1,
    id: `id-${n}`,
    text,
    keep: options.keep ?? { category: `cat-${n % 3}` },
  };
  return {
    record,
    contentHash: contentHash(options.model ?? TEST_MODEL, text),
    vector: unitVector(n, options.dimensions ?? 8),
  };
}

/** Rows `1..count`, see `embeddedRow`. */
export function embeddedRows(count: number, options: EmbeddedRowOptions = {}): EmbeddedRow[] {
  return Array.from({ length: count }, (_, i) => embeddedRow(i + 1, options));
}

/** A fresh temp folder and a function that removes it. */
export async function tempDir(
  prefix = 'embed-batch-test-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A fresh temp folder for every test of the enclosing describe (handed to `use`), removed after it. */
export function useTempDir(use: (dir: string) => void, prefix?: string): void {
  let remove: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const made = await tempDir(prefix);
    remove = made.remove;
    use(made.dir);
  });
  afterEach(async () => {
    await remove?.();
    remove = undefined;
  });
}
