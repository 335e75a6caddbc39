import { ConfigError, EmbedBatchError } from '../errors.ts';
import type { ObjectStore } from '../store/ObjectStore.ts';
import type { OutputFile, RejectedRecord } from '../types.ts';

/** Name of the rejected-records file in an output folder. */
export const ERRORS_FILE = 'errors.jsonl';

/** Options of an `ErrorsWriter`. */
export interface ErrorsWriterOptions {
  /** Buffered JSON text (UTF-16 code units) that triggers writing a segment. @default 1 Mi */
  readonly spillChars?: number;
  /** Segments an earlier attempt wrote (a resumed checkpoint); they come first. @default none */
  readonly earlier?: ErrorSegments;
}

/** The segments written so far: what a checkpoint records. */
export interface ErrorSegments {
  readonly segments: readonly OutputFile[];
  /** Records in them. */
  readonly rows: number;
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
 * buffered up to `spillChars`, then written as a numbered segment object
 * beside the target (`<uri>.seg-00000`), in the store itself, so they
 * survive a crash with the checkpoint that lists them and no temp file is
 * left anywhere. `finish()` joins the segments into the file (streamed, never
 * held whole) and leaves them for the scratch folder's cleanup (a crash
 * before the commit resumes from a checkpoint that lists them); it always
 * writes the file, empty when nothing was rejected, so a complete output
 * folder always has one.
 */
export class ErrorsWriter {
  /** Where `finish()` writes the file. */
  readonly uri: string;
  readonly #store: ObjectStore;
  readonly #spillChars: number;

  #lines: string[] = [];
  #bufferedChars = 0;
  #rows = 0;
  #segments: OutputFile[] = [];
  #segmentRows = 0;
  #writes: Promise<void> = Promise.resolve();
  #result: Promise<OutputFile> | undefined;

  /**
   * @param store Where the file goes.
   * @param uri The file, e.g. `<scratch>/errors.jsonl.partial` (see `ERRORS_FILE`).
   */
  constructor(store: ObjectStore, uri: string, options: ErrorsWriterOptions = {}) {
    const spillChars = options.spillChars ?? 2 ** 20;
    if (!Number.isSafeInteger(spillChars) || spillChars <= 0) {
      throw new ConfigError(`Expected \`spillChars\` to be a positive integer, got ${spillChars}`);
    }
    this.#store = store;
    this.uri = uri;
    this.#spillChars = spillChars;
    if (options.earlier !== undefined) {
      this.#segments = [...options.earlier.segments];
      this.#segmentRows = options.earlier.rows;
      this.#rows = options.earlier.rows;
    }
  }

  /** Records added so far (earlier attempts' included). */
  get rows(): number {
    return this.#rows;
  }

  /** Adds one rejected record; see `addMany`. */
  add(rejected: RejectedRecord): Promise<void> {
    return this.addMany([rejected]);
  }

  /** Adds rejected records in order. Resolves when any segment they caused is written. */
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
    if (this.#bufferedChars >= this.#spillChars) this.#writeSegment();
    return this.#writes;
  }

  /** Writes whatever is buffered as a segment and returns the segments so far (for a checkpoint). */
  async flush(): Promise<ErrorSegments> {
    this.#writeSegment();
    await this.#writes;
    return { segments: [...this.#segments], rows: this.#segmentRows };
  }

  /** Writes the file (empty when nothing was rejected); the segments stay. Idempotent. */
  finish(): Promise<OutputFile> {
    this.#result ??= this.#finish();
    return this.#result;
  }

  /** Drops what is buffered (a failed job); segments already written stay for its checkpoint. */
  async abort(): Promise<void> {
    this.#result ??= Promise.reject(new EmbedBatchError('ErrorsWriter: aborted'));
    this.#result.catch(() => {});
    this.#lines = [];
    await this.#writes.catch(() => {});
  }

  async #finish(): Promise<OutputFile> {
    this.#writeSegment();
    await this.#writes;
    const segments = this.#segments;
    let bytes: number;
    // The segments stay: a checkpoint may still list them, until the commit empties the scratch folder.
    if (segments.length === 0) {
      ({ bytes } = await this.#store.put(this.uri, ''));
    } else if (segments.length === 1) {
      await this.#store.copy(segments[0]!.uri, this.uri);
      bytes = segments[0]!.bytes;
    } else {
      ({ bytes } = await this.#store.putStream(this.uri, joined(this.#store, segments)));
    }
    return { uri: this.uri, rows: this.#rows, bytes };
  }

  /** Writes the buffered lines as the next segment, in order, one write at a time. */
  #writeSegment(): void {
    const text = this.#lines.join('');
    const rows = this.#lines.length;
    this.#lines = [];
    this.#bufferedChars = 0;
    if (text === '') return;
    this.#writes = this.#writes.then(async () => {
      const uri = `${this.uri}.seg-${String(this.#segments.length).padStart(5, '0')}`;
      const { bytes } = await this.#store.put(uri, text);
      this.#segments.push({ uri, rows, bytes });
      this.#segmentRows += rows;
    });
    // Callers see the error from `addMany`/`flush`/`finish`; it must not also count as unhandled.
    this.#writes.catch(() => {});
  }
}

/** The segments' bytes one after another, one segment open at a time. */
async function* joined(store: ObjectStore, segments: readonly OutputFile[]): AsyncGenerator<Uint8Array> {
  for (const segment of segments) {
    const opened = await store.get(segment.uri);
    yield* opened.body;
  }
}
