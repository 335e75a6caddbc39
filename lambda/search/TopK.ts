/**
 * The k best-scoring items seen so far: a min-heap of at most k entries, so
 * each offer costs O(1) when it does not make the cut (the common case) and
 * O(log k) when it does. On equal scores the earlier offer stays ahead, so
 * results do not depend on heap order.
 */
export class TopK<T> {
  readonly #scores: number[] = [];
  readonly #order: number[] = [];
  readonly #items: T[] = [];
  #offered = 0;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1)
      throw new RangeError(`Expected \`k\` to be a positive integer, got ${k}`);
  }

  /** Entries held (at most k). */
  get size(): number {
    return this.#scores.length;
  }

  /** The score an offer must beat to be kept: -Infinity until k are held. */
  get threshold(): number {
    return this.#scores.length < this.k ? Number.NEGATIVE_INFINITY : (this.#scores[0] as number);
  }

  /**
   * Offers an item; `make` is called only when it is kept, so a caller that
   * builds the item from a row pays for rows that make the cut only.
   */
  offer(score: number, make: () => T): void {
    const order = this.#offered++;
    if (Number.isNaN(score)) return;
    if (this.#scores.length < this.k) {
      this.#scores.push(score);
      this.#order.push(order);
      this.#items.push(make());
      this.#up(this.#scores.length - 1);
      return;
    }
    if (!(score > (this.#scores[0] as number))) return;
    this.#scores[0] = score;
    this.#order[0] = order;
    this.#items[0] = make();
    this.#down(0);
  }

  /** The kept items, best first (ties: first offered first). */
  sorted(): { score: number; item: T }[] {
    return this.#scores
      .map((score, i) => ({ score, order: this.#order[i] as number, item: this.#items[i] as T }))
      .sort((a, b) => b.score - a.score || a.order - b.order)
      .map(({ score, item }) => ({ score, item }));
  }

  /** Whether entry a ranks below entry b (lower score, or the same score offered later). */
  #below(a: number, b: number): boolean {
    const sa = this.#scores[a] as number;
    const sb = this.#scores[b] as number;
    return sa < sb || (sa === sb && (this.#order[a] as number) > (this.#order[b] as number));
  }

  #swap(a: number, b: number): void {
    const s = this.#scores;
    const o = this.#order;
    const it = this.#items;
    [s[a], s[b]] = [s[b] as number, s[a] as number];
    [o[a], o[b]] = [o[b] as number, o[a] as number];
    [it[a], it[b]] = [it[b] as T, it[a] as T];
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#below(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#scores.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && this.#below(left, least)) least = left;
      if (right < n && this.#below(right, least)) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }
}
