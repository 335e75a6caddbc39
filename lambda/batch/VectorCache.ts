/** Vectors kept for deduplication, in bytes; the entry count follows from the dimensions. */
const DEDUP_CACHE_BYTES = 64 * 1024 * 1024;

/** Entries a job's dedup cache holds before the vector length is known. */
export const DEDUP_ENTRIES_BEFORE_DIMENSIONS = 16_384;

/**
 * Entries a job's dedup cache holds once the vector length is known: 64 MiB
 * of vectors, at least 1,000. `plan` sizes its model of the cache the same way.
 */
export function dedupEntriesFor(dimensions: number): number {
  return Math.max(1_000, Math.floor(DEDUP_CACHE_BYTES / (dimensions * 4)));
}

/**
 * Job-wide memory of texts already sent, keyed by content hash, so identical
 * texts are embedded once. Bounded: the oldest entries go first, so a
 * duplicate that comes back after more than `maxEntries` distinct texts is
 * sent again (counted as embedded, not deduplicated). That keeps memory flat on
 * any file; frequent duplicates stay in the cache because they keep coming.
 */
export class VectorCache<T> {
  readonly #entries = new Map<string, T>();

  constructor(private maxEntries: number) {}

  get(hash: string): T | undefined {
    return this.#entries.get(hash);
  }

  set(hash: string, value: T): void {
    this.#entries.delete(hash);
    this.#entries.set(hash, value);
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Swaps `from` for `to` under `hash` if `from` is still what the cache holds there. */
  replace(hash: string, from: T, to: T): void {
    if (this.#entries.get(hash) === from) this.#entries.set(hash, to);
  }

  /** Lowers or raises the bound, e.g. once the vector size is known. */
  resize(maxEntries: number): void {
    this.maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }
}
