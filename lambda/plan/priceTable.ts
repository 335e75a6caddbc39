import { OFFLINE_MODEL } from '../embed/featureHash.ts';

/** A price per million input tokens and where it comes from. */
export interface Price {
  readonly perMillionTokens: number;
  /** `--price-per-million-tokens`, or the table entry's source. */
  readonly source: string;
}

/** One built-in price: what a provider publishes, with its source and the day it was read. */
export interface PriceEntry {
  readonly perMillionTokens: number;
  readonly currency: string;
  readonly source: string;
  /** YYYY-MM-DD. */
  readonly asOf: string;
}

/**
 * Built-in prices of IONOS AI Model Hub embedding models, by model id.
 *
 * Empty on purpose. The searched documentation (docs.ionos.com, AI Model Hub:
 * the embeddings tutorial, the model cards, the FAQ; searched 2026-12-01)
 * states no per-token price for the embedding models, only that every
 * foundation model was free from 2024-12-01 to 2025-03-31 (later: to
 * 2025-06-30), which is not a price today. An invented figure would be worse
 * than none: `plan` asks for `--price-per-million-tokens` instead. Add an
 * entry only with the price page it was read from and the date.
 */
export const PRICE_TABLE: Readonly<Record<string, PriceEntry>> = Object.freeze({});

/**
 * The price to cost a job at: the flag, else the table, else undefined. The
 * in-process offline embedder (`offline`: no endpoint at all) bills nothing.
 */
export function priceFor(model: string, flag: number | undefined, offline = false): Price | undefined {
  if (flag !== undefined) return { perMillionTokens: flag, source: '--price-per-million-tokens' };
  if (offline && model === OFFLINE_MODEL) {
    return { perMillionTokens: 0, source: 'the offline embedder runs in this process' };
  }
  const entry = Object.hasOwn(PRICE_TABLE, model) ? PRICE_TABLE[model] : undefined;
  if (entry === undefined) return undefined;
  return {
    perMillionTokens: entry.perMillionTokens,
    source: `${entry.source} (${entry.currency}, as of ${entry.asOf})`,
  };
}

/** Cost of `tokens` at `price`, rounded to a millionth of the currency. */
export function costOf(tokens: number, price: Price): number {
  return Math.round(tokens * price.perMillionTokens) / 1_000_000;
}
