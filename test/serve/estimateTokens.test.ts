import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../lambda/serve/estimateTokens.ts';

describe('Function: estimateTokens', () => {
  it.each([
    ['Hello, world!!', 4],
    ['one', 1],
    ['...', 1],
    ['   ', 1],
    ['état-civil 2024', 4],
    ['naïve café', 2],
    ['a\u00a0b\u3000c', 3],
  ])('estimates %j as %d tokens', (text, tokens) => {
    // Act
    const estimate = estimateTokens(text);

    // Assess
    expect(estimate).toBe(tokens);
  });
});
