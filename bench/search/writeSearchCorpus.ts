/**
 * A search benchmark's corpus: an embed-batch output folder (parts written by
 * the real PartWriter, a manifest) of `rows` rows with texts from the bench
 * generator, a kept `category` column, and vectors that are either dense
 * random unit vectors (as a real model's are: every component non-zero) or the
 * offline embedder's sparse feature-hash vectors of the texts.
 */
import { mkdir } from 'node:fs/promises';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { OutputFormat } from '../../lambda/types.ts';
import { contentHash } from '../../lambda/write/contentHash.ts';
import { buildManifest } from '../../lambda/write/Manifest.ts';
import { manifestUri, usageUri } from '../../lambda/write/OutputFolder.ts';
import { PartWriter } from '../../lambda/write/PartWriter.ts';
import { createRandom, TextGenerator } from '../generateInput.ts';

/** What kind of vectors the corpus holds. */
export type CorpusVectors = 'dense' | 'feature-hash';

/** Options of {@link writeSearchCorpus}. */
export interface CorpusOptions {
  readonly rows: number;
  readonly dimensions: number;
  readonly vectors: CorpusVectors;
  readonly format: OutputFormat;
  readonly seed?: number;
}

const CATEGORIES = ['kitchen', 'garden', 'tools', 'toys', 'books', 'music', 'sports', 'office'];

/** Writes the corpus into `dir` (a fresh folder) and returns the model recorded in it. */
export async function writeSearchCorpus(dir: string, options: CorpusOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  const store = new LocalStore();
  // Dense vectors carry the offline model's name so `search` can embed a query for them offline.
  const model = OFFLINE_MODEL;
  const writer = new PartWriter(store, dir, {
    format: options.format,
    model,
    sourceUri: 'bench/search-corpus.csv',
    keepColumns: ['category'],
    dimensions: options.dimensions,
    createdAt: new Date('2026-01-01T00:00:00Z'),
  });
  const texts = new TextGenerator(options.seed ?? 42);
  const random = createRandom((options.seed ?? 42) ^ 0x51ed);
  for (let row = 1; row <= options.rows; row++) {
    const text = texts.next();
    const vector =
      options.vectors === 'dense'
        ? denseUnitVector(options.dimensions, random)
        : featureHashEmbed(text, options.dimensions);
    await writer.add({
      record: {
        record: row,
        id: `r${row}`,
        text,
        keep: { category: CATEGORIES[row % CATEGORIES.length] ?? '' },
      },
      contentHash: contentHash(model, text),
      vector,
    });
  }
  const parts = await writer.finish();
  const manifest = buildManifest({
    source: { uri: 'bench/search-corpus.csv', etag: null, bytes: 0 },
    model,
    dimensions: options.dimensions,
    format: options.format,
    parts,
    errors: { uri: `${dir}/errors.jsonl`, rows: 0 },
    usage: usageUri(dir),
    createdAt: new Date('2026-01-01T00:00:00Z'),
  });
  await store.put(manifestUri(dir), `${JSON.stringify(manifest, null, 2)}\n`);
  return model;
}

/** A random direction: normal components (Box-Muller), L2-normalised. */
function denseUnitVector(dimensions: number, random: () => number): Float32Array {
  const out = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const value = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    out[i] = value;
    norm += value * value;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) out[i] = (out[i] ?? 0) / norm;
  return out;
}
