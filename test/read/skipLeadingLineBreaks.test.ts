import { describe, expect, it } from 'vitest';
import { type SkippedLines, skipLeadingLineBreaks } from '../../lambda/read/skipLeadingLineBreaks.ts';
import { chunked } from '../helpers/readFixtures.ts';

describe('Function: skipLeadingLineBreaks', () => {
  it.each([1, 2, 100])('drops leading empty lines and counts them, in chunks of %i bytes', async (size) => {
    // Prepare
    const skipped: SkippedLines = { lines: 0 };
    const input = Buffer.from('\n\r\n\r\r\nid,text\n\n1,a\n');

    // Act
    let out = '';
    for await (const chunk of skipLeadingLineBreaks(chunked(input, size), skipped)) {
      out += Buffer.from(chunk).toString('utf8');
    }

    // Assess
    expect(out).toBe('id,text\n\n1,a\n');
    expect(skipped.lines).toBe(4);
  });
});
