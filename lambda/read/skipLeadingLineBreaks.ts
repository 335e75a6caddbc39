const LF = 0x0a;
const CR = 0x0d;

/** How many empty lines `skipLeadingLineBreaks` has dropped; final once it has passed on a byte. */
export interface SkippedLines {
  lines: number;
}

/**
 * Drops the empty lines at the very start of a byte stream, counting them in
 * `skipped` (`\r\n`, `\n` and `\r` each end one line).
 *
 * Why: csv-parse takes the first row it sees as the expected row width. A
 * leading empty line would make that width 1, and with `relax_column_count` it
 * then builds an error object (with a stack trace) for every later row: about
 * ten times slower, though still correct.
 */
export async function* skipLeadingLineBreaks(
  chunks: AsyncIterable<Uint8Array>,
  skipped: SkippedLines,
): AsyncGenerator<Uint8Array> {
  let skipping = true;
  let afterCr = false;
  for await (const chunk of chunks) {
    if (!skipping) {
      yield chunk;
      continue;
    }
    let i = 0;
    for (; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF) {
        if (!afterCr) skipped.lines++;
        afterCr = false;
      } else if (byte === CR) {
        skipped.lines++;
        afterCr = true;
      } else {
        break;
      }
    }
    if (i < chunk.length) {
      skipping = false;
      yield chunk.subarray(i);
    }
  }
}
