/**
 * Deterministic benchmark input: CSV files of `id,text` rows whose texts read
 * like product or support prose (200–400 characters, a Zipf-like vocabulary,
 * punctuation, the odd quote and comma), the same bytes on every machine.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** Smallest and largest text length, in characters. */
const MIN_CHARS = 200;
const MAX_CHARS = 400;
const VOCABULARY_SIZE = 6_000;
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ra',
  'tu',
  'so',
  'vi',
  'ber',
  'dan',
  'el',
  'fen',
  'gar',
  'hol',
  'in',
  'jor',
  'kel',
  'lin',
  'mar',
  'nor',
  'op',
  'pel',
  'qua',
  'ros',
  'sta',
  'ten',
  'ul',
  'ver',
  'wen',
  'xi',
  'yor',
  'zed',
];
const PUNCTUATION = ['.', '.', '.', ',', ',', ',', ',', ';', ':', '!', '?', ' -'];

/** mulberry32: small, fast, good enough for test data, and the same everywhere. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function buildVocabulary(random: () => number): string[] {
  const words = new Set<string>();
  while (words.size < VOCABULARY_SIZE) {
    const syllables = 1 + Math.floor(random() * 4);
    let word = '';
    for (let i = 0; i < syllables; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

/** Makes texts one after another; the n-th text depends only on the seed and n. */
export class TextGenerator {
  readonly #random: () => number;
  readonly #vocabulary: string[];

  constructor(seed = 42) {
    this.#random = createRandom(seed);
    this.#vocabulary = buildVocabulary(createRandom(seed ^ 0x9e3779b9));
  }

  /** The next text: sentences of Zipf-distributed words, between 200 and 400 characters. */
  next(): string {
    const random = this.#random;
    const target = MIN_CHARS + Math.floor(random() * (MAX_CHARS - MIN_CHARS));
    let text = '';
    let capitalise = true;
    while (text.length < target) {
      // Zipf-like: rank ~ size^u, so a few words are common and most are rare.
      const rank = Math.floor(VOCABULARY_SIZE ** random()) - 1;
      let word = this.#vocabulary[rank] ?? 'item';
      if (random() < 0.04) word = String(Math.floor(random() * 10_000));
      if (capitalise) word = word.charAt(0).toUpperCase() + word.slice(1);
      if (random() < 0.01) word = `"${word}"`;
      text += text === '' ? word : ` ${word}`;
      capitalise = false;
      if (random() < 0.12) {
        const mark = PUNCTUATION[Math.floor(random() * PUNCTUATION.length)] ?? '.';
        text += mark;
        capitalise = mark === '.' || mark === '!' || mark === '?';
      }
    }
    if (text.length > MAX_CHARS) text = text.slice(0, MAX_CHARS).trimEnd();
    return `${text}.`;
  }
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Writes `rows` rows of `id,text` to `path` (streamed: a million rows never sit
 * in memory). Returns the file size in bytes.
 */
export async function writeCsvInput(path: string, rows: number, seed = 42): Promise<number> {
  const generator = new TextGenerator(seed);
  const out = createWriteStream(path);
  out.write('id,text\n');
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    chunk += `r${i},${csvField(generator.next())}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return (await stat(path)).size;
}

/** The first `rows` texts of the generator, in memory (for in-process stage measurements). */
export function generateTexts(rows: number, seed = 42): string[] {
  const generator = new TextGenerator(seed);
  return Array.from({ length: rows }, () => generator.next());
}
