import { type ReaderOptions, readRecords } from '../../lambda/read/readRecords.ts';
import { type PlanShardsOptions, planShards, type ShardLayout } from '../../lambda/shard/planShards.ts';
import type { InputFormat, ReadResult } from '../../lambda/types.ts';

/** Yields `bytes` in pieces of the given sizes, cycling through them. */
export async function* pieces(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length] ?? bytes.length);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/** Every result of `readRecords` over `bytes`. */
export async function readBytes(
  bytes: Uint8Array,
  options: ReaderOptions,
  chunkSizes: readonly number[] = [bytes.length],
): Promise<ReadResult[]> {
  const results: ReadResult[] = [];
  for await (const result of readRecords(pieces(bytes, chunkSizes), options)) results.push(result);
  return results;
}

/** The reader options of one shard of a plan, as the shard worker sets them. */
export function shardReaderOptions(
  layout: ShardLayout,
  index: number,
  base: Omit<ReaderOptions, 'csvHeader' | 'recordOffset' | 'lineOffset'>,
): ReaderOptions {
  const shard = layout.shards[index]!;
  return {
    ...base,
    csvHeader: index > 0 ? layout.csvHeader : undefined,
    recordOffset: shard.recordOffset,
    lineOffset: shard.lineOffset,
  };
}

/** Plans `bytes` and reads every shard's byte range on its own; results concatenated in shard order. */
export async function readByShards(
  bytes: Uint8Array,
  options: Omit<PlanShardsOptions, 'format' | 'source' | 'maxRecordBytes'> & {
    readonly format: InputFormat;
    readonly maxRecordBytes: number;
    readonly chunkSizes?: readonly number[];
  },
): Promise<{ layout: ShardLayout; results: ReadResult[]; perShard: ReadResult[][] }> {
  const { chunkSizes = [bytes.length], ...plan } = options;
  const layout = await planShards(pieces(bytes, chunkSizes), { ...plan, source: 'input' });
  // As runShard reads: on commas, as the planner splits rows.
  const base = {
    source: 'input',
    format: plan.format,
    gzip: false,
    maxRecordBytes: plan.maxRecordBytes,
    delimiter: ',',
  } as const;
  const perShard: ReadResult[][] = [];
  for (const shard of layout.shards) {
    const slice = bytes.subarray(shard.start, shard.end + 1);
    perShard.push(await readBytes(slice, shardReaderOptions(layout, shard.index, base), chunkSizes));
  }
  return { layout, results: perShard.flat(), perShard };
}
