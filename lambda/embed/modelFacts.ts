/**
 * What we know about endpoints and models before the first request (DESIGN.md,
 * "Endpoint facts"). Everything here is a default: unknown models learn their
 * dimension from the first response, unknown endpoints adapt to their 429s.
 */

/** Facts about one model. */
export interface ModelFacts {
  /** Output dimensions (for models with a choice: the largest). */
  readonly dimensions: number;
  /** Longest input the model reads, in tokens. */
  readonly maxInputTokens: number;
  /** Whether the model accepts a smaller `dimensions` in the request (Matryoshka models). */
  readonly variableDimensions?: boolean;
}

/** The models DESIGN.md lists, by model id. */
export const MODEL_FACTS: Readonly<Record<string, ModelFacts>> = Object.freeze({
  'sentence-transformers/paraphrase-multilingual-mpnet-base-v2': { dimensions: 768, maxInputTokens: 128 },
  'BAAI/bge-large-en-v1.5': { dimensions: 1024, maxInputTokens: 512 },
  'BAAI/bge-m3': { dimensions: 1024, maxInputTokens: 8192 },
  'Qwen/Qwen3-VL-Embedding-8B': { dimensions: 4096, maxInputTokens: 32_768, variableDimensions: true },
});

/** The facts of `model`, or undefined for a model we know nothing about. */
export function modelFacts(model: string): ModelFacts | undefined {
  return Object.hasOwn(MODEL_FACTS, model) ? MODEL_FACTS[model] : undefined;
}

/** The IONOS AI Model Hub, the default endpoint when an API key is given without a base URL. */
export const IONOS_BASE_URL = 'https://openai.inference.de-txl.ionos.com/v1';

/**
 * IONOS's documented limit: 5 requests/s sustained, 10/s burst, shared by every
 * endpoint of one contract. The default rate for IONOS's base URL only.
 */
export const IONOS_DEFAULT_RATE: Readonly<{ rps: number; burst: number }> = Object.freeze({
  rps: 5,
  burst: 10,
});

/** Whether `baseUrl` points at the IONOS AI Model Hub (any region), so its rate limit applies. */
export function isIonos(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  // Regions are subdomains (de-txl today); the limit is per contract, not per region.
  return /(^|\.)inference\.[a-z0-9-]+\.ionos\.com$/.test(host);
}

/**
 * Max input tokens assumed for a model we know nothing about. Only used to size
 * batches; an input the server still finds too long is split out and rejected alone.
 */
export const DEFAULT_MAX_INPUT_TOKENS = 8192;

/**
 * Max estimated tokens per request when nothing better is known: TEI's default
 * `--max-batch-tokens`, the smallest common server-side cap.
 */
export const DEFAULT_MAX_TOKENS_PER_REQUEST = 16_384;

/** Max input tokens of `model`, or {@link DEFAULT_MAX_INPUT_TOKENS} when unknown. */
export function maxInputTokens(model: string): number {
  return modelFacts(model)?.maxInputTokens ?? DEFAULT_MAX_INPUT_TOKENS;
}

/**
 * A conservative token count for `text`: ceil(UTF-8 bytes / 3), at least 1.
 * Real tokenizers average 3.5–4.5 bytes per token on English and fewer on
 * other scripts; erring high keeps batches under server caps and the rate
 * limiter under a tokens-per-minute budget.
 */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(text, 'utf8') / 3));
}
