import { InputError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import { openArrowPart } from './arrow/ArrowVectorPart.ts';
import { VectorKernel } from './kernel/VectorKernel.ts';
import { openParquetPart } from './parquet/ParquetVectorPart.ts';
import { ReadBuffers } from './ReadBuffers.ts';
import { TopK } from './TopK.ts';
import { unitVector } from './unitVector.ts';
import type { RowAddress, RowColumns, VectorPart } from './VectorPart.ts';

/** What {@link searchVectors} needs. */
export interface SearchVectorsOptions {
  readonly store: ObjectStore;
  /** Part files (`.parquet` or `.arrow`), in output order. */
  readonly parts: readonly string[];
  /** How many rows to return. */
  readonly k: number;
  /**
   * Embeds the query, once the model and vector length are known from the
   * parts. Not called when the parts hold no rows.
   */
  readonly embedQuery: (model: string, dimensions: number) => Promise<Float32Array>;
}

/** One result row. */
export interface SearchHit {
  /** 1 for the best. */
  readonly rank: number;
  /** Cosine similarity with the query. */
  readonly score: number;
  /** The part file it is in, and its row there (0-based). */
  readonly uri: string;
  readonly row: number;
  /** `id`, `text` (unless written without it) and the kept columns. */
  readonly columns: RowColumns;
}

/** What a search found. */
export interface SearchResult {
  readonly model: string | undefined;
  readonly dimensions: number | undefined;
  /** Rows compared with the query. */
  readonly rowsScanned: number;
  readonly hits: SearchHit[];
}

/** Parts whose winners' columns are read at the same time. */
const WINNER_PARTS_AT_ONCE = 4;

interface Kept {
  readonly part: number;
  readonly address: RowAddress;
  readonly row: number;
}

/**
 * Brute-force cosine top-k over the parts, streamed: one part open at a time,
 * one batch of vectors (a Parquet row group) in memory at a time, a heap of k
 * row addresses and the scores of the current batch. Only the k winners'
 * other columns are read, at the end.
 *
 * @throws {InputError} when a part is not an embed-batch part, or the parts disagree on model or length.
 */
export async function searchVectors(options: SearchVectorsOptions): Promise<SearchResult> {
  const top = new TopK<Kept>(options.k);
  const opened: VectorPart[] = [];
  let query: Float32Array | undefined;
  let model: string | undefined;
  let dimensions: number | undefined;
  // The scan's own kernel: a concurrent search in this process has another.
  const kernel = await VectorKernel.load();
  let scanned = 0;
  const buffers = new ReadBuffers();
  // One part ahead: the next part's footer and first vectors are read while this one is scanned.
  const open = (index: number): Promise<VectorPart> | undefined => {
    const uri = options.parts[index];
    const opening = uri === undefined ? undefined : openPart(options.store, uri, buffers);
    // Awaited in its turn; until then a failure must not count as unhandled.
    opening?.catch(() => undefined);
    return opening;
  };
  let opening = open(0);
  for (const [index, uri] of options.parts.entries()) {
    const part = await (opening as Promise<VectorPart>);
    opening = open(index + 1);
    opened.push(part);
    if (model === undefined) {
      model = part.model;
      dimensions = part.dimensions;
    } else if (part.model !== model || part.dimensions !== dimensions) {
      throw new InputError(
        `${uri}: made with ${part.model} (${part.dimensions} dimensions), the other parts with ${model} (${dimensions})`,
      );
    }
    if (part.rows === 0) continue;
    query ??= unitVector(await options.embedQuery(part.model, part.dimensions));
    let firstRow = 0;
    for await (const batch of part.batches(kernel)) {
      // In place when the part decoded into the kernel (Parquet), else copied there (Arrow).
      const scores = kernel.scores(query, batch.values, batch.offset, batch.rows);
      const threshold = top.threshold;
      for (let row = 0; row < batch.rows; row++) {
        const score = scores[row] as number;
        if (score < threshold) continue;
        top.offer(score, () => ({ part: index, address: { group: batch.group, row }, row: firstRow + row }));
      }
      firstRow += batch.rows;
      scanned += batch.rows;
    }
  }

  const winners = top.sorted();
  const columns = new Map<Kept, RowColumns>();
  // A few parts that hold winners at a time: on S3 their round trips overlap, and a part its fast
  // reader declines is read whole, so not all of them at once.
  const holding = opened
    .map((part, index) => ({ part, mine: winners.filter((w) => w.item.part === index).map((w) => w.item) }))
    .filter(({ mine }) => mine.length > 0);
  await atMost(WINNER_PARTS_AT_ONCE, holding, async ({ part, mine }) => {
    const read = await part.columnsOf(mine.map((w) => w.address));
    for (const [i, kept] of mine.entries()) columns.set(kept, read[i] ?? {});
  });
  return {
    model,
    dimensions,
    rowsScanned: scanned,
    hits: winners.map(({ score, item }, i) => ({
      rank: i + 1,
      score,
      uri: opened[item.part]?.uri ?? '',
      row: item.row,
      columns: columns.get(item) ?? {},
    })),
  };
}

/** Runs `work` over `items`, at most `limit` at a time; rejects at the first failure. */
async function atMost<T>(
  limit: number,
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function openPart(store: ObjectStore, uri: string, buffers: ReadBuffers): Promise<VectorPart> {
  if (/\.parquet(\.partial)?$/i.test(uri)) return openParquetPart(store, uri, buffers);
  if (/\.arrow(\.partial)?$/i.test(uri)) return openArrowPart(store, uri);
  throw new InputError(`${uri}: not a .parquet or .arrow file`);
}
