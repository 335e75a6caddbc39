import type { EmbeddedRow, KeptValue } from '../../lambda/types.ts';
import { unitVector } from './embeddedRows.ts';

/** `keepColumns` with a column of every kept type: string, number, integer, boolean and list. */
export const EVERY_KEPT_TYPE = ['colour', 'price:number', 'count:integer', 'inStock:boolean', 'tags:list'];

/** Options of `everyKeptTypeRows`. */
export interface EveryKeptTypeOptions {
  /** @default 4 */
  readonly dimensions?: number;
  /** Characters of each text, about. @default 40 */
  readonly textChars?: number;
}

const WORDS = ['zedros', 'linwen', 'café', 'sol', 'qualinmar', 'ber', '"quoted"', 'naïve', '🚀', 'x'];

/**
 * Rows `0..count-1` whose kept columns (`EVERY_KEPT_TYPE`) hold nulls,
 * repeated and empty strings, non-ASCII text, -0, NaN, Infinity, integers
 * past 2^53 and empty lists, each at its own period so they fall on varied
 * rows and page boundaries.
 */
export function everyKeptTypeRows(count: number, options: EveryKeptTypeOptions = {}): EmbeddedRow[] {
  const dimensions = options.dimensions ?? 4;
  const textChars = options.textChars ?? 40;
  return Array.from({ length: count }, (_, i) => {
    let text = `${i}:`;
    for (let w = i; text.length < textChars; w = (w * 7 + 3) % 101) text += ` ${WORDS[w % WORDS.length]}`;
    const keep: Record<string, KeptValue> = {
      colour: ['red', 'blue', '', 'grün 🌿', 'red'][i % 5] ?? '',
      price: price(i),
      count: integer(i),
      inStock: i % 4 === 0 ? null : i % 3 === 0,
      tags: i % 6 === 0 ? null : Array.from({ length: i % 3 }, (_, k) => `tag-${(i + k) % 5}`),
    };
    return {
      record: { record: i + 1, id: `id-${i}`, text, keep },
      contentHash: `hash-${i}`,
      vector: unitVector(i, dimensions),
    };
  });
}

function price(i: number): number | null {
  if (i % 5 === 0) return null;
  if (i % 11 === 1) return -0;
  if (i % 13 === 2) return Number.NaN;
  if (i % 17 === 3) return Number.POSITIVE_INFINITY;
  return i / 4 - 3;
}

function integer(i: number): bigint | null {
  if (i % 7 === 0) return null;
  if (i % 19 === 5) return 2n ** 60n + BigInt(i);
  if (i % 23 === 6) return -(2n ** 62n);
  return BigInt(i * 1000 - 50_000);
}
