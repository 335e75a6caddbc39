import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_INPUT_TOKENS,
  estimateTokens,
  IONOS_BASE_URL,
  isIonos,
  maxInputTokens,
  modelFacts,
} from '../../lambda/embed/modelFacts.ts';

describe('Function: modelFacts', () => {
  it.each([
    ['sentence-transformers/paraphrase-multilingual-mpnet-base-v2', 768, 128],
    ['BAAI/bge-large-en-v1.5', 1024, 512],
    ['BAAI/bge-m3', 1024, 8192],
    ['Qwen/Qwen3-VL-Embedding-8B', 4096, 32_768],
  ])('knows %s: %d dimensions, %d input tokens', (model, dimensions, tokens) => {
    // Act
    const facts = modelFacts(model);

    // Assess
    expect(facts).toMatchObject({ dimensions, maxInputTokens: tokens });
  });

  it('knows nothing about other models, not even inherited properties', () => {
    // Act
    const unknown = [modelFacts('acme/embedder'), modelFacts('toString'), modelFacts('constructor')];

    // Assess
    expect(unknown).toEqual([undefined, undefined, undefined]);
    expect(maxInputTokens('acme/embedder')).toBe(DEFAULT_MAX_INPUT_TOKENS);
  });
});

describe('Function: isIonos', () => {
  it.each([
    [IONOS_BASE_URL, true],
    ['https://openai.inference.de-txl.ionos.com/v1/', true],
    ['https://openai.inference.fr-par.ionos.com/v1', true],
    ['http://127.0.0.1:8080/v1', false],
    ['https://api.openai.com/v1', false],
    ['https://inference.de-txl.ionos.com.evil.example/v1', false],
    ['not a url', false],
  ])('says %s is %s', (url, expected) => {
    // Act
    const ionos = isIonos(url);

    // Assess
    expect(ionos).toBe(expected);
  });
});

describe('Function: estimateTokens', () => {
  it.each([
    ['', 1],
    ['a', 1],
    ['abc', 1],
    ['abcd', 2],
    ['héllo', 2],
    ['日本語', 3],
  ])('estimates %j as %d tokens (utf-8 bytes / 3, rounded up, at least 1)', (text, expected) => {
    // Act
    const tokens = estimateTokens(text);

    // Assess
    expect(tokens).toBe(expected);
  });
});
