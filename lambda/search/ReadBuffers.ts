/** New buffers are a little larger than asked, in whole 64 KiB. */
const HEADROOM = 1.0625;
const ROUNDING = 64 * 1024;

/**
 * Read buffers that a scan hands on from row group to row group and from
 * part to part, so each buffer's memory is touched once per search, not once
 * per part: a fresh 7 MB buffer costs about 4 ms of page faults on the
 * machines measured (BENCHMARKS.md section 8), paid where the scan waits for
 * its read. A scan holds at most three at a time (the group being decoded,
 * the next group's read, the next part's first group).
 */
export class ReadBuffers {
  readonly #free: Uint8Array[] = [];

  /** A buffer of at least `bytes`: a free one that is large enough, else a new one. */
  take(bytes: number): Uint8Array {
    const fits = this.#free.findIndex((buffer) => buffer.byteLength >= bytes);
    if (fits >= 0) return this.#free.splice(fits, 1)[0] as Uint8Array;
    // A free buffer too small for this is dropped rather than kept beside the new one.
    this.#free.pop();
    // With room to spare: row groups of the same rows differ by a few bytes, and a buffer exactly
    // one's size would be too small for the next.
    return new Uint8Array(Math.ceil((bytes * HEADROOM) / ROUNDING) * ROUNDING);
  }

  /** Hands a buffer back once nothing reads it any more. */
  give(buffer: Uint8Array): void {
    this.#free.push(buffer);
  }
}
