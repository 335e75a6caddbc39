import { createReadStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, EmbedBatchError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { OutputFile, RejectedRecord } from '../types.ts';

/** Name of the rejected-records file in an output folder. */
export const ERRORS_FILE = 'errors.jsonl';

/** Options of an `ErrorsWriter`. */
export interface ErrorsWriterOptions {
  /** Buffered JSON text (UTF-16 code units) that triggers a spill to the temp file. @default 1 Mi */
  readonly spillChars?: number;
  /** Folder for the spill file. @default os.tmpdir() (the writable /tmp on Lambda) */
  readonly tempDir?: string;
}

/** The local temp file lines are spilled to. */
interface Spill {
  readonly dir: string;
  readonly file: string;
  readonly handle: FileHandle;
}

/** One `errors.jsonl` line: `{"record":n,"line":n,"id":"...","reason":"..."}`, absent keys left out. */
export function errorLine(rejected: RejectedRecord): string {
  // Built field by field so the key order is fixed and nothing else leaks in.
  const line: { record: number; line?: number; id?: string; reason?: string } = { record: rejected.record };
  if (rejected.line !== undefined) line.line = rejected.line;
  if (rejected.id !== undefined) line.id = rejected.id;
  line.reason = rejected.reason;
  return `${JSON.stringify(line)}\n`;
}

/**
 * Collects rejected records into `errors.jsonl` in bounded memory: lines are
 * buffered up to `spillChars`, then appended to a local temp file, which
 * `finish()` streams to the store. A file with few errors never touches the
 * disk. `finish()` always writes the file, empty when nothing was rejected, so
 * a complete output folder always has one.
 */
export class ErrorsWriter {
  /** Where `finish()` writes the file. */
  readonly uri: string;
  readonly #store: ObjectStore;
  readonly #spillChars: number;
  readonly #tempDir: string;

  #lines: string[] = [];
  #bufferedChars = 0;
  #rows = 0;
  #spill: Spill | undefined;
  #writes: Promise<void> = Promise.resolve();
  #result: Promise<OutputFile> | undefined;

  /**
   * @param store Where the file goes.
   * @param uri The file, normally `<output dir>/errors.jsonl` (see `ERRORS_FILE`).
   */
  constructor(store: ObjectStore, uri: string, options: ErrorsWriterOptions = {}) {
    const spillChars = options.spillChars ?? 2 ** 20;
    if (!Number.isSafeInteger(spillChars) || spillChars <= 0) {
      throw new ConfigError(`Expected \`spillChars\` to be a positive integer, got ${spillChars}`);
    }
    this.#store = store;
    this.uri = uri;
    this.#spillChars = spillChars;
    this.#tempDir = options.tempDir ?? os.tmpdir();
  }

  /** Records added so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Adds one rejected record; see `addMany`. */
  add(rejected: RejectedRecord): Promise<void> {
    return this.addMany([rejected]);
  }

  /** Adds rejected records in order. Resolves when any spill they caused is on disk. */
  addMany(rejected: readonly RejectedRecord[]): Promise<void> {
    if (this.#result !== undefined) {
      return Promise.reject(new EmbedBatchError('ErrorsWriter: records added after finish()'));
    }
    for (const record of rejected) {
      const line = errorLine(record);
      this.#lines.push(line);
      this.#bufferedChars += line.length;
      this.#rows++;
    }
    if (this.#bufferedChars >= this.#spillChars) this.#spillBuffer();
    return this.#writes;
  }

  /** Writes `errors.jsonl` (empty when nothing was rejected) and removes the temp file. Idempotent. */
  finish(): Promise<OutputFile> {
    this.#result ??= this.#finish();
    return this.#result;
  }

  /** Drops everything and removes the temp file, without writing anything (for a failed job). */
  async abort(): Promise<void> {
    this.#result ??= Promise.reject(new EmbedBatchError('ErrorsWriter: aborted'));
    this.#result.catch(() => {});
    this.#lines = [];
    await this.#writes.catch(() => {});
    await this.#removeSpill();
  }

  async #finish(): Promise<OutputFile> {
    try {
      await this.#writes;
      if (this.#spill === undefined) {
        const { bytes } = await this.#store.put(this.uri, this.#lines.join(''));
        this.#lines = [];
        return { uri: this.uri, rows: this.#rows, bytes };
      }
      this.#spillBuffer();
      await this.#writes;
      const spill = this.#spill as Spill;
      await spill.handle.close();
      const { bytes } = await this.#store.putStream(this.uri, createReadStream(spill.file));
      return { uri: this.uri, rows: this.#rows, bytes };
    } finally {
      await this.#removeSpill();
    }
  }

  /** Moves the buffered lines to the temp file (created on first use), in order, one write at a time. */
  #spillBuffer(): void {
    const text = this.#lines.join('');
    this.#lines = [];
    this.#bufferedChars = 0;
    if (text === '') return;
    this.#writes = this.#writes.then(async () => {
      if (this.#spill === undefined) {
        const dir = await mkdtemp(path.join(this.#tempDir, 'embed-batch-errors-'));
        const file = path.join(dir, ERRORS_FILE);
        this.#spill = { dir, file, handle: await open(file, 'a') };
      }
      await this.#spill.handle.write(text);
    });
    // Callers see the error from `addMany`/`finish`; it must not also count as unhandled.
    this.#writes.catch(() => {});
  }

  async #removeSpill(): Promise<void> {
    const spill = this.#spill;
    if (spill === undefined) return;
    this.#spill = undefined;
    await spill.handle.close().catch(() => {});
    await rm(spill.dir, { recursive: true, force: true });
  }
}
