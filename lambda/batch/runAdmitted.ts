/** Most items at work at once. */
export const DEFAULT_MAX_OPEN = 64;
/** Most weight at work at once: 64 files of up to 64 KiB, or fewer larger ones (see {@link weightOfBytes}). */
export const DEFAULT_MAX_WEIGHT = 64;

/** The input size one unit of weight stands for. */
const WEIGHT_UNIT_BYTES = 64 * 1024;

/**
 * A file's weight: its size in 64 KiB, at least 1. A file larger than what
 * its reader takes in before its window of requests fills stops reading
 * half-way, holding its input stream (an S3 connection) until its answers
 * come; weighing such files more keeps those well under the S3 client's 50
 * sockets, and their buffers bounded.
 */
export function weightOfBytes(bytes: number | undefined): number {
  return Math.max(1, Math.ceil((bytes ?? 0) / WEIGHT_UNIT_BYTES));
}

/** Options of {@link runAdmitted}. */
export interface AdmissionOptions<T> {
  /** An item's weight (at least 1). @default 1 */
  readonly weight?: (item: T) => number;
  /** Most weight at work at once; an item heavier than this runs alone. @default DEFAULT_MAX_WEIGHT */
  readonly maxWeight?: number;
  /** Most items at work at once. @default DEFAULT_MAX_OPEN */
  readonly maxOpen?: number;
  /** Asked before each start: true stops starting more (the items at work finish). @default never */
  readonly halted?: () => boolean;
}

/**
 * Runs `work` over `items` in order, several at once, within a count and a
 * weight: many small files run together, a large one runs with fewer
 * beside it, so memory stays bounded however many files there are. `work`
 * must handle its own errors. Returns how many items were started.
 */
export async function runAdmitted<T>(
  items: readonly T[],
  options: AdmissionOptions<T>,
  work: (item: T, index: number) => Promise<void>,
): Promise<number> {
  const maxOpen = options.maxOpen ?? DEFAULT_MAX_OPEN;
  const maxWeight = options.maxWeight ?? DEFAULT_MAX_WEIGHT;
  const running = new Map<number, { readonly weight: number; readonly done: Promise<number> }>();
  let load = 0;
  let started = 0;
  for (const [index, item] of items.entries()) {
    const weight = Math.max(1, options.weight?.(item) ?? 1);
    while (running.size > 0 && (running.size >= maxOpen || load + weight > maxWeight)) {
      const finished = await Promise.race([...running.values()].map((r) => r.done));
      load -= running.get(finished)?.weight ?? 0;
      running.delete(finished);
    }
    if (options.halted?.()) break;
    load += weight;
    started++;
    running.set(index, { weight, done: work(item, index).then(() => index) });
  }
  await Promise.all([...running.values()].map((r) => r.done));
  return started;
}
