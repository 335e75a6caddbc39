/**
 * Hands one file's vectors back in that file's order, whatever requests
 * (shared with other files or not) they came in.
 */
import type { Cursor } from '../write/Checkpoint.ts';
import type { PackedRequest, PackerOwner, RequestPacker, Slot } from './RequestPacker.ts';

/** Where a record's vector comes from: a slot of a request, or a vector already known. */
export type VectorSource = Slot | Float32Array;

/** A record waiting for its vector, or one the reader rejected (kept in order with the rest). */
export type PendingRecord<R, J> =
  | {
      readonly record: R;
      readonly hash: string;
      readonly source: VectorSource;
      /** Where the vector comes from, for the counts. */
      readonly kind: 'new' | 'deduplicated' | 'reused';
    }
  | { readonly rejected: J };

/** Records in input order, the requests they wait for, and where reading stood after the last of them. */
export interface Entry<R, J> {
  readonly records: PendingRecord<R, J>[];
  readonly requests: Set<PackedRequest>;
  end: Cursor;
}

/**
 * A window of a file's entries: records go into the open entry, which
 * closes into the window; the head entry is written (by `write`, whole) once
 * every request it waits for is answered, so rows reach the writer in input
 * order. At most `windowSize` entries wait, so memory stays flat.
 *
 * An entry is written whole or not at all: when `write` fails half-way the
 * router is `poisoned` (some rows are written, the cursor is before them), and
 * nothing more is written or checkpointed.
 */
export class InOrderRouter<R, J> {
  readonly #packer: RequestPacker;
  readonly #owner: PackerOwner;
  readonly #write: (entry: Entry<R, J>) => Promise<void>;
  readonly #windowSize: number;
  readonly #window: Entry<R, J>[] = [];
  #open: Entry<R, J>;
  #drained: Cursor;
  #openTexts = 0;
  #poisoned = false;
  #failure: unknown;

  constructor(
    packer: RequestPacker,
    owner: PackerOwner,
    write: (entry: Entry<R, J>) => Promise<void>,
    options: { readonly windowSize: number; readonly start: Cursor },
  ) {
    this.#packer = packer;
    this.#owner = owner;
    this.#write = write;
    this.#windowSize = Math.max(1, options.windowSize);
    this.#drained = options.start;
    this.#open = this.#newEntry();
  }

  /** Where the last written entry ended: every record up to it is in the writers. */
  get drained(): Cursor {
    return this.#drained;
  }

  /** Records in the open entry. */
  get openRecords(): number {
    return this.#open.records.length;
  }

  /** Texts of the open entry that go out in requests. */
  get openTexts(): number {
    return this.#openTexts;
  }

  get poisoned(): boolean {
    return this.#poisoned;
  }

  /** The first failure of a request this file waits for: reading on would only send more to fail. */
  get failure(): unknown {
    return this.#failure;
  }

  /** Packs `text` into a request for `record`; returns its slot (for the deduplication cache). */
  addText(record: R, hash: string, text: string, end: Cursor): Slot {
    const slot = this.#packer.add(this.#owner, text);
    this.#openTexts++;
    this.add({ record, hash, source: slot, kind: 'new' }, end);
    return slot;
  }

  /** Adds a record whose vector is known or on its way, or a rejected one. */
  add(pending: PendingRecord<R, J>, end: Cursor): void {
    this.#open.records.push(pending);
    if ('source' in pending && !(pending.source instanceof Float32Array)) {
      const { request } = pending.source;
      if (!this.#open.requests.has(request)) {
        this.#open.requests.add(request);
        request.done.catch((error: unknown) => {
          this.#failure ??= error;
        });
      }
    }
    this.#open.end = end;
  }

  /** Closes the open entry into the window; writes head entries while the window is full. */
  async close(): Promise<void> {
    if (this.#open.records.length === 0) return;
    this.#window.push(this.#open);
    this.#open = this.#newEntry();
    this.#openTexts = 0;
    while (this.#window.length >= this.#windowSize) await this.drainHead();
  }

  /** Closes the open entry and writes every entry. */
  async drainAll(): Promise<void> {
    await this.close();
    while (this.#window.length > 0) await this.drainHead();
  }

  /**
   * Writes the head entry once its requests are answered. Left at the head
   * until it is written whole: a request that failed keeps it there, so the
   * cursor never skips its records. Throws the failure.
   */
  async drainHead(): Promise<void> {
    const entry = this.#window[0];
    if (entry === undefined) return;
    await Promise.all([...entry.requests].map((request) => this.#packer.want(request)));
    await this.#writeHead(entry);
  }

  /**
   * After a failure or a stop: lets the requests already sent settle, then
   * writes entries in order as long as all their requests were answered.
   * Sends nothing new. A no-op once poisoned.
   */
  async salvage(): Promise<void> {
    const sent = this.#window.flatMap((entry) => [...entry.requests].filter((r) => r.sent));
    await Promise.allSettled(sent.map((request) => request.done));
    while (!this.#poisoned) {
      const entry = this.#window[0];
      if (entry === undefined || ![...entry.requests].every((r) => r.result !== undefined)) return;
      await this.#writeHead(entry);
    }
  }

  async #writeHead(entry: Entry<R, J>): Promise<void> {
    if (this.#poisoned) throw new Error('an entry was written in part; nothing more may be written');
    try {
      await this.#write(entry);
    } catch (error) {
      this.#poisoned = true;
      throw error;
    }
    this.#window.shift();
    this.#drained = entry.end;
  }

  #newEntry(): Entry<R, J> {
    return { records: [], requests: new Set(), end: this.#drained };
  }
}
