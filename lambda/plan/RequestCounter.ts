import { BatchBuilder, type BatchLimits, maxRecordsPerEntry } from '../batch/BatchBuilder.ts';

/**
 * How the run packs records into requests: since requests may carry rows
 * of several files (`RequestPacker`, one per command), `across-files` packs
 * one stream of requests over the whole command. `per-file` is kept for a
 * model of one file at a time (`--files-at-once 1`).
 */
export type Packing = 'per-file' | 'across-files';

/** The packing the run does now. */
export const RUN_PACKING: Packing = 'across-files';

/** A model of one in-order entry of a file: the requests it waits for. */
interface ModelEntry {
  records: number;
  texts: number;
  readonly requests: Set<number>;
}

/**
 * Counts the requests a run would send, with the run's own `BatchBuilder`
 * and a model of its in-order router:
 *
 * - a text that needs a request joins the open request, which goes when the
 *   next text does not fit or it is full;
 * - records wait in entries (closed at `batchSize` new texts or the entry's
 *   record cap), at most `windowSize` entries per file. When the window is
 *   full, the oldest entry is waited for; if it waits for the open request,
 *   that request goes as it is (a long run of rows that need none, such as
 *   reused ones, between two that do);
 * - at the end of a file, with `per-file` packing, its last request goes;
 *   with `across-files`, the next file's texts fill it, and only the end of
 *   the command sends the last one.
 *
 * A file's count is the requests that carry any of its texts; the total
 * counts each request once. The run sends a request that is not full also
 * when it waits for it and nothing else queues (an endpoint faster than the
 * files are read), so for many files at once this is the packed count, the
 * least the run can do.
 */
export class RequestCounter {
  readonly #limits: BatchLimits;
  readonly #batchSize: number;
  readonly #entryCap: number;
  readonly #windowSize: number;
  readonly #packing: Packing;
  #builder: BatchBuilder;
  #openId = 0;
  /** Files with texts in the open request. */
  #open = new Set<number>();
  readonly #byFile = new Map<number, number>();
  readonly #windows = new Map<number, { entries: ModelEntry[]; open: ModelEntry }>();
  #total = 0;

  constructor(limits: BatchLimits, batchSize: number, windowSize: number, packing: Packing = RUN_PACKING) {
    this.#limits = limits;
    this.#batchSize = batchSize;
    this.#entryCap = maxRecordsPerEntry(batchSize);
    this.#windowSize = Math.max(1, windowSize);
    this.#packing = packing;
    this.#builder = new BatchBuilder(limits);
  }

  /** A record of `file` whose text needs a request. */
  addText(file: number, text: string): void {
    if (!this.#builder.fits(text)) this.#flush();
    this.#builder.add(text);
    this.#open.add(file);
    const entry = this.#window(file).open;
    entry.requests.add(this.#openId);
    entry.records++;
    entry.texts++;
    if (this.#builder.size >= this.#limits.maxInputs) this.#flush();
    if (entry.texts >= this.#batchSize || entry.records >= this.#entryCap) this.#closeEntry(file);
  }

  /** A record of `file` that needs no request: rejected, a duplicate, or reused. */
  addOther(file: number): void {
    const entry = this.#window(file).open;
    entry.records++;
    if (entry.records >= this.#entryCap) this.#closeEntry(file);
  }

  /** The end of a file: its entries are written; with `per-file` packing its last request goes. */
  endFile(file: number): void {
    if (this.#packing === 'per-file') this.#flush();
    this.#windows.delete(file);
  }

  /** The end of the command: the last request goes. */
  finish(): void {
    this.#flush();
  }

  /** Requests that carry texts of `file`. */
  requestsOf(file: number): number {
    return this.#byFile.get(file) ?? 0;
  }

  /** Requests in all (each once). */
  get total(): number {
    return this.#total;
  }

  #window(file: number): { entries: ModelEntry[]; open: ModelEntry } {
    let window = this.#windows.get(file);
    if (window === undefined) {
      window = { entries: [], open: newEntry() };
      this.#windows.set(file, window);
    }
    return window;
  }

  #closeEntry(file: number): void {
    const window = this.#window(file);
    window.entries.push(window.open);
    window.open = newEntry();
    while (window.entries.length >= this.#windowSize) {
      const head = window.entries.shift() as ModelEntry;
      // The router waits for the oldest entry: a request it needs that is still being packed goes now.
      if (head.requests.has(this.#openId)) this.#flush();
    }
  }

  #flush(): void {
    if (this.#builder.size > 0) {
      this.#total++;
      for (const file of this.#open) this.#byFile.set(file, (this.#byFile.get(file) ?? 0) + 1);
      this.#openId++;
    }
    this.#builder = new BatchBuilder(this.#limits);
    this.#open = new Set();
  }
}

function newEntry(): ModelEntry {
  return { records: 0, texts: 0, requests: new Set() };
}
