import { describe, expect, it } from 'vitest';
import { LineSplitter, type SplitLine } from '../../lambda/read/LineSplitter.ts';

function split(chunks: readonly string[], maxLineBytes = 100): (string | number)[] {
  const splitter = new LineSplitter(maxLineBytes);
  const lines: SplitLine[] = [];
  for (const chunk of chunks) lines.push(...splitter.push(Buffer.from(chunk)));
  lines.push(...splitter.end());
  return lines.map((line) => (typeof line === 'number' ? line : line.toString('utf8')));
}

describe('Class: LineSplitter', () => {
  it('splits on \\n and drops one \\r before it', () => {
    // Prepare, Act
    const lines = split(['a\r\nb\nc\r\r\n\n']);

    // Assess
    expect(lines).toEqual(['a', 'b', 'c\r', '']);
  });

  it('joins lines that span chunks, a \\r\\n split between chunks included', () => {
    // Prepare, Act
    const lines = split(['ab', 'c\r', '\nde', 'f']);

    // Assess
    expect(lines).toEqual(['abc', 'def']);
  });

  it('gives the byte length instead of the content for a line over the limit', () => {
    // Prepare, Act
    const lines = split(['12345', '67\r\nok\n', '1234567890\n'], 5);

    // Assess
    expect(lines).toEqual([7, 'ok', 10]);
  });

  it('keeps a line of exactly the limit, with or without \\r', () => {
    // Prepare, Act
    const lines = split(['123', '45\r', '\n12345\n'], 5);

    // Assess
    expect(lines).toEqual(['12345', '12345']);
  });

  it('returns nothing more at the end when the stream ends with \\n', () => {
    // Prepare
    const splitter = new LineSplitter(10);
    splitter.push(Buffer.from('a\n'));

    // Act
    const rest = splitter.end();

    // Assess
    expect(rest).toEqual([]);
  });
});
