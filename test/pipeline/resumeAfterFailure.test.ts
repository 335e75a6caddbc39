import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import type { BatchEmbedder, BatchEmbedding } from '../../lambda/embed/types.ts';
import { TransientEndpointError } from '../../lambda/errors.ts';
import { runJob } from '../../lambda/pipeline.ts';
import { resolveJobOptions } from '../../lambda/resolveJobOptions.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { ByteRange, OpenedObject } from '../../lambda/store/ObjectStore.ts';
import { emptyRequestStats } from '../../lambda/types.ts';
import { readCheckpoint } from '../../lambda/write/Checkpoint.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';
import { expectOutputRows } from '../helpers/expectOutput.ts';
import { parquetColumnTypes, readOutputFolder } from '../helpers/readOutput.ts';

const MODEL = 'local/feature-hash';

/**
 * The embedding stage, in process: vectors as serve-local computes them; the
 * batches named in `failing` fail after `delayMs` (a batch that ran out of
 * retries), the others answer after `delayMs` too, so batches overlap.
 */
function embedder(failing: ReadonlySet<number>, delayMs = 20): BatchEmbedder & { calls: number } {
  const requests = emptyRequestStats();
  const tokens = { prompt: 0, total: 0 };
  let calls = 0;
  return {
    requests,
    tokens,
    get calls() {
      return calls;
    },
    async embedBatch(texts): Promise<BatchEmbedding> {
      const call = ++calls;
      await new Promise((resolve) => setTimeout(resolve, delayMs * (failing.has(call) ? 2 : 1)));
      requests.sent++;
      if (failing.has(call)) throw new TransientEndpointError(`batch ${call} failed past retries`);
      requests.succeeded++;
      return { vectors: texts.map((text) => featureHashEmbed(text, 384)), rejected: [] };
    },
  };
}

/** A real `LocalStore` that notes every read of `watched`: the range asked for, or `whole`. */
class ReadRecordingStore extends LocalStore {
  readonly reads: string[] = [];
  constructor(private readonly watched: string) {
    super();
  }

  override async get(uri: string, range?: ByteRange): Promise<OpenedObject> {
    if (uri === this.watched) this.reads.push(range ? `${range.start}-${range.end}` : 'whole');
    return super.get(uri, range);
  }
}

describe('Function: runJob (resume after a failed batch)', () => {
  let dir: string;
  useTempDir((made) => {
    dir = made;
  });

  it('never checkpoints past a batch that failed, so the rerun embeds its records and loses none', async () => {
    // Prepare: 40 records in batches of 5, two in flight; batch 2 fails while batch 3 succeeds
    const rows = Array.from({ length: 40 }, (_, i) => ({
      id: `r-${i + 1}`,
      text: `resumed record ${i + 1}`,
    }));
    const input = path.join(dir, 'in.jsonl');
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'out', 'in.jsonl');
    const store = new LocalStore();
    const options = resolveJobOptions({
      model: MODEL,
      batchSize: 5,
      concurrency: 2,
      checkpointIntervalMs: 1,
    });
    const ports = (e: BatchEmbedder) => ({ store, embedder: e, model: MODEL, endpoint: 'test' });

    // Act
    const failed = await runJob(input, out, options, ports(embedder(new Set([2])))).catch(
      (error: unknown) => error,
    );
    const checkpoint = await readCheckpoint(store, out);
    const result = await runJob(input, out, options, ports(embedder(new Set())));

    // Assess
    expect(failed).toBeInstanceOf(TransientEndpointError);
    // Batch 1 (records 1-5) was written; batch 2 (6-10) failed, so the cursor stays at 5.
    expect(checkpoint?.cursor.records).toBe(5);
    expect(checkpoint?.rows).toMatchObject({ read: 5, embedded: 5, rejected: 0, deduplicated: 0 });
    await expectOutputRows(out, rows);
    expect(result.usage.rows).toMatchObject({ read: 40, embedded: 40, rejected: 0, resumed: 5 });
    expect(result.usage.attempts).toBe(2);
  });

  it('resumes with the kept types its checkpoint holds, without reading the first records again', async () => {
    // Prepare: typed JSONL fields, in parts of 5 rows; batch 3 fails, so two attempts write parts
    const rows = Array.from({ length: 40 }, (_, i) => ({
      id: `r-${i + 1}`,
      text: `typed resumed record ${i + 1}`,
      price: i + 0.5,
      tags: [`t${i % 3}`],
    }));
    const input = path.join(dir, 'typed.jsonl');
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'out', 'typed.jsonl');
    const options = resolveJobOptions({
      model: MODEL,
      batchSize: 5,
      concurrency: 2,
      rowsPerPart: 5,
      checkpointIntervalMs: 1,
      keepColumns: ['price', 'tags'],
    });
    const first = new ReadRecordingStore(input);
    const second = new ReadRecordingStore(input);
    const ports = (store: LocalStore, e: BatchEmbedder) => ({
      store,
      embedder: e,
      model: MODEL,
      endpoint: 'test',
    });

    // Act
    await runJob(input, out, options, ports(first, embedder(new Set([3])))).catch(() => undefined);
    const checkpoint = await readCheckpoint(first, out);
    await runJob(input, out, options, ports(second, embedder(new Set())));

    // Assess: the first attempt read the start to type the fields, then the file; the second only from its cursor.
    expect(checkpoint?.kept_columns).toEqual(['price:number', 'tags:list']);
    const last = (await stat(input)).size - 1;
    expect(first.reads).toEqual([`0-${last}`, 'whole']);
    expect(second.reads).toEqual([`${checkpoint?.cursor.byte}-${last}`]);
    const { manifest, rows: written } = await readOutputFolder(out);
    expect(manifest.parts.length).toBeGreaterThanOrEqual(4);
    for (const part of manifest.parts) {
      expect(await parquetColumnTypes(path.join(out, path.basename(part.uri)))).toMatchObject({
        price: 'DOUBLE',
        tags: 'VARCHAR[]',
      });
    }
    expect(written.map((row) => [row.id, row.price, row.tags])).toEqual(
      rows.map((r) => [r.id, r.price, r.tags]),
    );
  });
});
