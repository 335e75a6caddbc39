import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../lambda/write/contentHash.ts';

describe('Function: contentHash', () => {
  it('is the hex sha256 of model, newline, text', () => {
    // Act & Assess
    // Computed outside JavaScript: printf 'local/feature-hash\nhello world' | sha256sum
    expect(contentHash('local/feature-hash', 'hello world')).toBe(
      '635df8bc5184661067f50385cac3c5f1673b1828bff421ed630406878ce73eda',
    );
  });

  it('hashes the text as UTF-8', () => {
    // Prepare
    const expected = createHash('sha256').update(Buffer.from('BAAI/bge-m3\nhéllo 🚀', 'utf8')).digest('hex');

    // Act & Assess
    expect(contentHash('BAAI/bge-m3', 'héllo 🚀')).toBe(expected);
  });

  it('differs by model for the same text', () => {
    // Act & Assess
    expect(contentHash('model-a', 'same text')).not.toBe(contentHash('model-b', 'same text'));
  });
});
