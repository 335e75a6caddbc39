/**
 * The offline embedder's math: feature hashing of words and character
 * trigrams into `dimensions` signed buckets, L2-normalised. Deterministic, no
 * weights, no network. It is lexical, not semantic: texts that share words and
 * spellings come out close; synonyms do not.
 */

/** Model id of the offline embedder. */
export const OFFLINE_MODEL = 'local/feature-hash';

/** Dimensions of the offline embedder unless asked otherwise. */
export const OFFLINE_DEFAULT_DIMENSIONS = 384;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.5;
// Marks a word boundary inside trigrams, so "cat" and "cats" share " ca", "cat" but not "at ".
const BOUNDARY = 0x20;

function isWordChar(code: number): boolean {
  // ASCII letters and digits, and everything outside ASCII that is not a space or
  // punctuation mark in the common ranges: cheap and good enough for hashing.
  if (code < 0x80) {
    return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
  }
  return !(code >= 0x2000 && code <= 0x206f) && code !== 0x00a0 && code !== 0x3000 && code !== 0xfeff;
}

function lower(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 32 : code;
}

function mix(hash: number, code: number): number {
  return Math.imul(hash ^ code, FNV_PRIME) >>> 0;
}

function addFeature(out: Float32Array, hash: number, weight: number): void {
  // Final avalanche so that nearby hashes land in unrelated buckets.
  let h = (hash ^ (hash >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  const bucket = h % out.length;
  out[bucket] = (out[bucket] ?? 0) + (h >= 0x80000000 ? -weight : weight);
}

/**
 * Embeds one text into a new L2-normalised vector of `dimensions` floats.
 * Same text and dimensions, same vector, on any machine.
 */
export function featureHashEmbed(
  text: string,
  dimensions: number = OFFLINE_DEFAULT_DIMENSIONS,
): Float32Array {
  const out = new Float32Array(dimensions);
  const length = text.length;
  let i = 0;
  let features = 0;
  while (i < length) {
    while (i < length && !isWordChar(text.charCodeAt(i))) i++;
    if (i >= length) break;
    const start = i;
    let word = FNV_OFFSET;
    while (i < length && isWordChar(text.charCodeAt(i))) {
      word = mix(word, lower(text.charCodeAt(i)));
      i++;
    }
    addFeature(out, word, WORD_WEIGHT);
    features++;
    // Trigrams over " word ": the previous two characters roll along.
    let a = BOUNDARY;
    let b = lower(text.charCodeAt(start));
    for (let j = start + 1; j <= i; j++) {
      const c = j < i ? lower(text.charCodeAt(j)) : BOUNDARY;
      addFeature(out, mix(mix(mix(FNV_OFFSET ^ 0x5bd1e995, a), b), c), TRIGRAM_WEIGHT);
      a = b;
      b = c;
    }
  }
  if (features === 0) {
    // Punctuation only: hash the whole text so the vector is not zero.
    let whole = FNV_OFFSET;
    for (let k = 0; k < length; k++) whole = mix(whole, text.charCodeAt(k));
    addFeature(out, whole, WORD_WEIGHT);
  }
  let norm = 0;
  for (let k = 0; k < dimensions; k++) norm += (out[k] ?? 0) * (out[k] ?? 0);
  norm = Math.sqrt(norm);
  if (norm > 0) for (let k = 0; k < dimensions; k++) out[k] = (out[k] ?? 0) / norm;
  return out;
}

/** Cosine similarity of two vectors of the same length. */
export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new RangeError(`Expected vectors of the same length, got ${a.length} and ${b.length}`);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
