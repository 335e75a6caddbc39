import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { findStaleObjects, type StaleObject } from '../../lambda/reindex/findStaleObjects.ts';
import type { ObjectStore } from '../../lambda/store/ObjectStore.ts';
import type { SourceInfo } from '../../lambda/types.ts';

const BUCKET = 'data';
const CONFIG = {
  inputPrefix: 'input/',
  outputPrefix: 'output/',
  model: 'm',
  format: 'parquet',
  dimensions: undefined,
} as const;

/** A manifest saying the output was made from this very source version with model `m`, as parquet. */
function manifest(key: string, etag: string, model = 'm'): string {
  return JSON.stringify({
    version: 1,
    source: { uri: `s3://${BUCKET}/${key}`, etag, bytes: 1 },
    model,
    dimensions: 4,
    format: 'parquet',
    rows: 1,
    parts: [],
    errors: { uri: '', rows: 0 },
    usage: '',
    created_at: '',
  });
}

/**
 * An in-memory store that answers `list` from `objects` and `getText` from
 * `texts` after a delay, counting the reads in flight; the only two calls
 * the scan makes.
 */
function memoryStore(
  objects: readonly SourceInfo[],
  texts: ReadonlyMap<string, string>,
  options: { failOn?: string } = {},
) {
  const stats = { inFlight: 0, maxInFlight: 0, reads: [] as string[] };
  const unused = () => {
    throw new Error('not used by findStaleObjects');
  };
  const store: ObjectStore = {
    async *list(prefix) {
      for (const object of objects) if (object.uri.startsWith(prefix)) yield object;
    },
    async getText(uri) {
      stats.reads.push(uri);
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        // Later reads finish first, so a scan that yields in completion order would be caught.
        await sleep(stats.reads.length % 3 === 0 ? 1 : 5);
        if (options.failOn !== undefined && uri.includes(options.failOn)) {
          throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
        }
        return texts.get(uri);
      } finally {
        stats.inFlight--;
      }
    },
    get: unused,
    head: unused,
    put: unused,
    putStream: unused,
    copy: unused,
    rename: unused,
    putIfAbsent: unused,
    putIfMatch: unused,
    delete: unused,
  };
  return { store, stats };
}

async function collect(iterable: AsyncIterable<StaleObject>): Promise<StaleObject[]> {
  const found: StaleObject[] = [];
  for await (const object of iterable) found.push(object);
  return found;
}

describe('Function: findStaleObjects', () => {
  it('yields every input whose output is not current, in listing order, with why', async () => {
    // Prepare
    const objects: SourceInfo[] = [
      { uri: `s3://${BUCKET}/input/a.csv`, etag: 'e-a', bytes: 10 },
      { uri: `s3://${BUCKET}/input/b.jsonl.gz`, etag: 'e-b2', bytes: 20 },
      { uri: `s3://${BUCKET}/input/c.csv`, etag: 'e-c', bytes: 30 },
      { uri: `s3://${BUCKET}/input/d.csv`, etag: 'e-d', bytes: 40 },
      { uri: `s3://${BUCKET}/input/readme.md`, etag: 'e-r', bytes: 50 },
    ];
    const texts = new Map([
      [`s3://${BUCKET}/output/a.csv/manifest.json`, manifest('input/a.csv', 'e-a')],
      [`s3://${BUCKET}/output/b.jsonl.gz/manifest.json`, manifest('input/b.jsonl.gz', 'e-b1')],
      [`s3://${BUCKET}/output/d.csv/manifest.json`, manifest('input/d.csv', 'e-d', 'older')],
    ]);
    const { store, stats } = memoryStore(objects, texts);

    // Act
    const scan = findStaleObjects({ store, bucket: BUCKET, config: CONFIG });
    const found = await collect(scan);

    // Assess
    expect(found).toEqual([
      {
        bucket: BUCKET,
        key: 'input/b.jsonl.gz',
        etag: 'e-b2',
        size: 20,
        outputDir: `s3://${BUCKET}/output/b.jsonl.gz/`,
        reason: 'source changed',
      },
      {
        bucket: BUCKET,
        key: 'input/c.csv',
        etag: 'e-c',
        size: 30,
        outputDir: `s3://${BUCKET}/output/c.csv/`,
        reason: 'no complete output',
      },
      {
        bucket: BUCKET,
        key: 'input/d.csv',
        etag: 'e-d',
        size: 40,
        outputDir: `s3://${BUCKET}/output/d.csv/`,
        reason: 'output made with model older',
      },
    ]);
    expect(scan.counts).toEqual({ listed: 5, ignored: 1, upToDate: 1, stale: 3 });
    // Only manifests are read: never an input, never the unsupported file's folder.
    expect(stats.reads.every((uri) => uri.endsWith('/manifest.json') && uri.includes('/output/'))).toBe(true);
    expect(stats.reads).toHaveLength(4);
  });

  it('reads at most `concurrency` manifests at once and keeps the listing order', async () => {
    // Prepare: 60 inputs without output.
    const objects = Array.from({ length: 60 }, (_, i) => ({
      uri: `s3://${BUCKET}/input/f${String(i).padStart(2, '0')}.csv`,
      etag: `e${i}`,
      bytes: i,
    }));
    const { store, stats } = memoryStore(objects, new Map());

    // Act
    const found = await collect(findStaleObjects({ store, bucket: BUCKET, config: CONFIG, concurrency: 5 }));

    // Assess
    expect(found.map((object) => object.key)).toEqual(
      objects.map((object) => object.uri.slice(`s3://${BUCKET}/`.length)),
    );
    expect(stats.maxInFlight).toBe(5);
  });

  it('reads 8 manifests at once by default', async () => {
    const objects = Array.from({ length: 30 }, (_, i) => ({
      uri: `s3://${BUCKET}/input/f${i}.csv`,
      etag: 'e',
      bytes: 1,
    }));
    const { store, stats } = memoryStore(objects, new Map());
    await collect(findStaleObjects({ store, bucket: BUCKET, config: CONFIG }));
    expect(stats.maxInFlight).toBe(8);
  });

  it('ends with the error of a manifest read that failed, instead of guessing stale', async () => {
    // Prepare
    const objects = Array.from({ length: 20 }, (_, i) => ({
      uri: `s3://${BUCKET}/input/f${i}.csv`,
      etag: 'e',
      bytes: 1,
    }));
    const { store } = memoryStore(objects, new Map(), { failOn: '/f13.csv/' });

    // Act
    const error = await collect(findStaleObjects({ store, bucket: BUCKET, config: CONFIG })).catch(
      (caught: unknown) => caught,
    );

    // Assess
    expect(error).toMatchObject({ name: 'AccessDenied' });
  });

  it('rejects a concurrency that is not a positive integer', () => {
    const { store } = memoryStore([], new Map());
    expect(() => findStaleObjects({ store, bucket: BUCKET, config: CONFIG, concurrency: 0 })).toThrow(
      new ConfigError('Expected `concurrency` to be a positive integer, got 0'),
    );
  });
});
