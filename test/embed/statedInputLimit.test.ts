import { describe, expect, it } from 'vitest';
import { statedInputLimit } from '../../lambda/embed/statedInputLimit.ts';

describe('Function: statedInputLimit', () => {
  it.each([
    ['batch size 65 > maximum allowed batch size 64', 64],
    ['too many inputs in one request: 128, the limit is 64 (maxInputs)', 64],
    ['max inputs per request: 32', 32],
    ['Send at most 16 inputs per request', 16],
  ])('reads the input limit from %j', (message, limit) => {
    expect(statedInputLimit(message)).toBe(limit);
  });

  it.each([
    'Input validation error: input 3 is too long: 900 characters, the limit is 512 (maxInputChars)',
    'Input validation error: `inputs` must have less than 512 tokens',
    'request body exceeds the maximum of 2 MB',
    'payload too large',
    undefined,
  ])('finds no input limit in %j', (message) => {
    expect(statedInputLimit(message)).toBeUndefined();
  });
});
