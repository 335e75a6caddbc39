/**
 * The token count `serve-local` reports in `usage`. The offline embedder has no
 * tokenizer, so this is a deterministic estimate: the number of words (runs of
 * letters and digits, any non-ASCII character counting as a letter) plus the
 * number of punctuation runs (runs of other visible ASCII characters), and at
 * least 1 per input. "Hello, world!!" is 4: `Hello` `,` `world` `!!`.
 * Real tokenizers give more for long or rare words; this is for accounting
 * tests, not for cost estimates.
 */

const SPACE = 0;
const WORD = 1;
const PUNCT = 2;

function classify(code: number): number {
  if (code <= 0x20 || code === 0x7f) return SPACE;
  if (code < 0x80) {
    const isAlnum =
      (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
    return isAlnum ? WORD : PUNCT;
  }
  // Unicode spaces that show up in real text; everything else outside ASCII is a letter.
  if (code === 0xa0 || code === 0x3000 || code === 0xfeff || (code >= 0x2000 && code <= 0x200b)) return SPACE;
  return WORD;
}

/** Estimated tokens of one input: words + punctuation runs, at least 1. */
export function estimateTokens(text: string): number {
  let count = 0;
  let previous = SPACE;
  for (let i = 0; i < text.length; i++) {
    const current = classify(text.charCodeAt(i));
    if (current !== SPACE && current !== previous) count++;
    previous = current;
  }
  return Math.max(1, count);
}
