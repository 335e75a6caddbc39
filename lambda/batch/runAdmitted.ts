/** Most items at work at once. */
export const DEFAULT_MAX_OPEN = 64;
/** Most weight at work at once: a file's weight is its size in MiB, so about 64 MiB of input. */
export const DEFAULT_MAX_WEIGHT = 64;

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
