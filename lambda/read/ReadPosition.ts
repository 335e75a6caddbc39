import type { CsvDelimiter } from './CsvDelimiter.ts';

/**
 * Where a reader has got to in its input, updated just before each record is
 * yielded, so a consumer that reads it right after receiving a record knows
 * where the next one starts: the cursor a checkpoint stores.
 *
 * Kept as one mutable object rather than fields on every record: reading
 * costs no allocation per record, and only the checkpointing stage looks.
 */
export class ReadPosition {
  /** Offset of the body's first byte within the whole file (a ranged read starts later). */
  readonly #base: number;
  /** Bytes of the body before the readers saw it (a UTF-8 byte order mark). */
  #skipped = 0;
  #offset = 0;
  #lines = 0;
  #seekable = true;
  /** The CSV header's column names, once read (to read on from the middle of the file later). */
  header: readonly string[] | undefined;
  /** The CSV delimiter in use (given or sniffed at the start), for the same reason. */
  delimiter: CsvDelimiter | undefined;

  /** @param base Byte offset of the body within the file. @default 0 */
  constructor(base = 0) {
    this.#base = base;
  }

  /** Offset in the file just past the last record yielded (for plain, uncompressed files). */
  get byte(): number {
    return this.#base + this.#skipped + this.#offset;
  }

  /** Lines of the file up to and including the last record yielded. */
  get lines(): number {
    return this.#lines;
  }

  /** Whether `byte` is an offset in the file's own bytes (false once they were transcoded). */
  get seekable(): boolean {
    return this.#seekable;
  }

  /** Called when the bytes are transcoded to UTF-8: offsets no longer point into the file. */
  transcoded(): void {
    this.#seekable = false;
  }

  /** Called when a byte order mark is dropped: bytes before the readers' offset 0. */
  skip(bytes: number): void {
    this.#skipped += bytes;
  }

  /** Called by a reader before it yields a record: the offset in the body past it, and the file's lines through it. */
  advance(offset: number, lines: number): void {
    this.#offset = offset;
    this.#lines = lines;
  }
}
