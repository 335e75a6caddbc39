/**
 * The offline embedder as a transport: feature hashing in-process, for a fresh
 * machine with no API key and no base URL (DESIGN.md, "The offline embedder").
 */
import { featureHashEmbed, OFFLINE_DEFAULT_DIMENSIONS, OFFLINE_MODEL } from './featureHash.ts';
import { estimateTokens } from './modelFacts.ts';
import type { EmbeddingsResponse, EmbeddingsTransport } from './types.ts';

/** Options of {@link OfflineTransport}. */
export interface OfflineTransportOptions {
  /** Vector dimensions. @default 384 */
  readonly dimensions?: number;
}

/**
 * Implements {@link EmbeddingsTransport} without a network: endpoint `offline`,
 * model `local/feature-hash`. Lexical, not semantic. Token counts are the same
 * conservative estimate the rate limiter uses (there is no tokenizer).
 */
export class OfflineTransport implements EmbeddingsTransport {
  readonly endpoint = 'offline';
  readonly model = OFFLINE_MODEL;
  readonly dimensions: number;

  constructor(options: OfflineTransportOptions = {}) {
    const dimensions = options.dimensions ?? OFFLINE_DEFAULT_DIMENSIONS;
    if (!(Number.isInteger(dimensions) && dimensions > 0)) {
      throw new TypeError(`Expected \`dimensions\` to be a positive integer, got ${dimensions}`);
    }
    this.dimensions = dimensions;
  }

  /** Embeds `texts` in input order. */
  async embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbeddingsResponse> {
    signal?.throwIfAborted();
    const vectors = texts.map((text) => featureHashEmbed(text, this.dimensions));
    const tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0);
    return { vectors, promptTokens: tokens, totalTokens: tokens, model: OFFLINE_MODEL };
  }

  /** The one model it serves. */
  async listModels(signal?: AbortSignal): Promise<string[]> {
    signal?.throwIfAborted();
    return [OFFLINE_MODEL];
  }
}
