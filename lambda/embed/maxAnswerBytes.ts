/**
 * How large an embeddings answer may be: what its request can need, with
 * room to spare, and never more than a hard ceiling. An answer over it is an
 * invalid answer, read no further, so a broken or hostile endpoint cannot
 * fill the memory of a job (8 answers in flight on a 1,769 MB Lambda).
 */

/**
 * Bytes one float takes in JSON at most: `-1.2345678901234567e-05, ` is 25
 * (float64 repr of a float32, a comma and a space).
 */
export const JSON_FLOAT_BYTES = 26;

/** Per `data[]` item: `{"object":"embedding","index":12345,"embedding":[]},`. */
const ITEM_BYTES = 128;

/** `usage`, `model`, `object` and whatever else a server adds. */
const ENVELOPE_BYTES = 65_536;

/** Room for pretty-printing, odd number formats and fields we do not know. */
const SLACK = 2;

/** Dimensions assumed before the first answer of a model we know nothing about (Qwen3-VL-Embedding-8B's). */
export const UNKNOWN_DIMENSIONS = 4096;

/** No answer is ever read beyond this, however large the batch. */
export const MAX_ANSWER_BYTES = 256 * 1_048_576;

/**
 * The cap for the answer to `inputs` inputs of `dimensions` floats each
 * (undefined: {@link UNKNOWN_DIMENSIONS}), as floats in JSON, the largest
 * encoding (base64 is a quarter of it, and servers may ignore a request for it).
 */
export function maxAnswerBytes(inputs: number, dimensions: number | undefined): number {
  const floats = Math.max(dimensions ?? UNKNOWN_DIMENSIONS, 1);
  const needed = ENVELOPE_BYTES + inputs * (ITEM_BYTES + floats * JSON_FLOAT_BYTES);
  return Math.min(MAX_ANSWER_BYTES, SLACK * needed);
}
