const LF = 0x0a;
const CR = 0x0d;

/**
 * One line without its terminator, or, for a line over the size limit, its
 * length in bytes: its content was dropped as it streamed past.
 */
export type SplitLine = Buffer | number;

/**
 * Splits a byte stream into lines on `\n` at the byte level, so a multi-byte
 * character split between chunks stays whole and invalid UTF-8 stays visible.
 * A `\r` before the `\n` is dropped. Memory stays flat: a line longer than
 * `maxLineBytes` is counted, not kept.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  // Pieces of the line in progress (views into the chunks, not copies).
  #pieces: Buffer[] = [];
  #pendingBytes = 0;
  #lastByte = -1;
  /** Bytes pushed before the current chunk. */
  #base = 0;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * The lines this chunk completes, in order. With `ends`, the offset in the
   * stream just past each line's `\n` is appended to it, line by line.
   */
  push(chunk: Uint8Array, ends?: number[]): SplitLine[] {
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const lines: SplitLine[] = [];
    let start = 0;
    let end = buffer.indexOf(LF, start);
    while (end !== -1) {
      lines.push(this.#finish(buffer.subarray(start, end)));
      ends?.push(this.#base + end + 1);
      start = end + 1;
      end = buffer.indexOf(LF, start);
    }
    if (start < buffer.length) this.#add(buffer.subarray(start));
    this.#base += buffer.length;
    return lines;
  }

  /** The last line, when the stream does not end with `\n`; its end offset (the stream's length) goes to `ends`. */
  end(ends?: number[]): SplitLine[] {
    if (this.#pendingBytes === 0) return [];
    ends?.push(this.#base);
    return [this.#finish(Buffer.alloc(0))];
  }

  #add(piece: Buffer): void {
    this.#pendingBytes += piece.length;
    this.#lastByte = piece[piece.length - 1] ?? this.#lastByte;
    // One byte of slack for a `\r` that the terminator may yet strip.
    if (this.#pendingBytes > this.#maxLineBytes + 1) {
      this.#pieces = [];
    } else {
      this.#pieces.push(piece);
    }
  }

  #finish(tail: Buffer): SplitLine {
    let line: SplitLine;
    if (this.#pendingBytes === 0) {
      // The common case: the whole line lies in one chunk, no copy.
      line = tail.length > 0 && tail[tail.length - 1] === CR ? tail.subarray(0, -1) : tail;
      if (line.length > this.#maxLineBytes) line = line.length;
    } else {
      if (tail.length > 0) this.#add(tail);
      const length = this.#pendingBytes - (this.#lastByte === CR ? 1 : 0);
      if (length > this.#maxLineBytes) {
        line = length;
      } else {
        line = Buffer.concat(this.#pieces, this.#pendingBytes).subarray(0, length);
      }
      this.#pieces = [];
      this.#pendingBytes = 0;
    }
    this.#lastByte = -1;
    return line;
  }
}
