import { estimateTokens } from '../embed/modelFacts.ts';
/** When a batch is full. All three bounds apply at once. */
export interface BatchLimits {
  readonly maxInputs: number;
  readonly maxTokens: number;
  readonly maxBytes: number;
}

/**
 * Most records one in-order entry of the pipeline holds, for a batch size:
 * records that need no request (duplicates, reused, rejected) still wait in
 * an entry, so a long run of them closes the entry, and with it the open
 * batch, early. `plan` counts requests with the same cap.
 */
export function maxRecordsPerEntry(batchSize: number): number {
  return Math.max(1_024, batchSize * 4);
}

// JSON framing per input: quotes, comma, and some escaping headroom.
const PER_INPUT_OVERHEAD_BYTES = 8;

/**
 * Collects texts into a batch until one more would break a limit. A single
 * text over a limit still forms a batch of its own: the endpoint decides
 * whether it is too long, and a refusal lands in errors.jsonl with its reason.
 */
export class BatchBuilder {
  #texts: string[] = [];
  #tokens = 0;
  #bytes = 0;

  constructor(private readonly limits: BatchLimits) {}

  /** Number of texts in the open batch. */
  get size(): number {
    return this.#texts.length;
  }

  /** Whether `text` fits into the open batch. An empty batch takes anything. */
  fits(text: string): boolean {
    if (this.#texts.length === 0) return true;
    if (this.#texts.length >= this.limits.maxInputs) return false;
    return (
      this.#tokens + estimateTokens(text) <= this.limits.maxTokens &&
      this.#bytes + byteCost(text) <= this.limits.maxBytes
    );
  }

  /** Adds a text; the caller checked `fits` first. Returns its index in the batch. */
  add(text: string): number {
    this.#texts.push(text);
    this.#tokens += estimateTokens(text);
    this.#bytes += byteCost(text);
    return this.#texts.length - 1;
  }

  /** Hands over the open batch and starts a new one. */
  take(): string[] {
    const texts = this.#texts;
    this.#texts = [];
    this.#tokens = 0;
    this.#bytes = 0;
    return texts;
  }
}

function byteCost(text: string): number {
  return Buffer.byteLength(text, 'utf8') + PER_INPUT_OVERHEAD_BYTES;
}
