import { BatchBuilder, type BatchLimits, maxRecordsPerEntry } from '../batch/BatchBuilder.ts';

/**
 * How the run packs records into requests. Today `runPlanned` embeds one file
 * after another and each file's batches are its own (`per-file`). Once
 * requests may carry rows of several files, `across-files` packs one stream of
 * batches over the whole command: switch {@link RUN_PACKING} then.
 */
export type Packing = 'per-file' | 'across-files';

/** The packing the run does now. */
export const RUN_PACKING: Packing = 'per-file';

/**
 * Counts the requests a run would send, by driving the run's own
 * `BatchBuilder` with the records as the pipeline sees them: a text that needs
 * a request is added (a batch goes when the next text does not fit, or it is
 * full), and a record that needs none (rejected, duplicate, reused) still
 * waits in the open entry, whose record cap closes the open batch early, as
 * `embedRecordsToParts` does.
 *
 * With `across-files` packing a batch may hold texts of several files: a
 * file's count is then the requests that carry any of its texts, and the
 * total counts each request once.
 */
export class RequestPacker {
  readonly #limits: BatchLimits;
  readonly #entryCap: number;
  readonly #packing: Packing;
  #builder: BatchBuilder;
  #entryRecords = 0;
  /** Files with texts in the open batch. */
  #open = new Set<number>();
  readonly #byFile = new Map<number, number>();
  #total = 0;

  constructor(limits: BatchLimits, batchSize: number, packing: Packing = RUN_PACKING) {
    this.#limits = limits;
    this.#entryCap = maxRecordsPerEntry(batchSize);
    this.#packing = packing;
    this.#builder = new BatchBuilder(limits);
  }

  /** A record of `file` whose text needs a request. */
  addText(file: number, text: string): void {
    if (!this.#builder.fits(text)) this.#flush();
    this.#builder.add(text);
    this.#open.add(file);
    this.#entryRecords++;
    if (this.#builder.size >= this.#limits.maxInputs) this.#flush();
  }

  /** A record of `file` that needs no request: rejected, a duplicate, or reused. */
  addOther(_file: number): void {
    this.#entryRecords++;
    if (this.#entryRecords >= this.#entryCap) this.#flush();
  }

  /** The end of a file: its last batch goes, unless batches span files. */
  endFile(_file: number): void {
    if (this.#packing === 'per-file') this.#flush();
  }

  /** The end of the command: the last batch goes. */
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

  #flush(): void {
    if (this.#builder.size > 0) {
      this.#total++;
      for (const file of this.#open) this.#byFile.set(file, (this.#byFile.get(file) ?? 0) + 1);
    }
    this.#builder.take();
    this.#builder = new BatchBuilder(this.#limits);
    this.#open = new Set();
    this.#entryRecords = 0;
  }
}
