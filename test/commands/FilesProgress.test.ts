import { describe, expect, it } from 'vitest';
import { FilesProgress } from '../../lambda/commands/ProgressReporter.ts';
import type { JobProgress } from '../../lambda/pipelineTypes.ts';

function progress(rows: number): JobProgress {
  return { rowsRead: rows, rowsEmbedded: rows, rowsRejected: 0, tokens: rows * 10, retries: 0, elapsedMs: 1 };
}

describe('Unit: FilesProgress', () => {
  it('shows files done out of all, with the rows and tokens of every file together', () => {
    // Arrange: a log stream (not a terminal), printing at every update
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const files = new FilesProgress(undefined, 3, stream, 0);

    // Act
    files.update(0, progress(40));
    files.fileDone();
    files.update(1, progress(15));
    files.update(1, progress(25));

    // Assess
    expect(lines[0]).toMatch(
      /^\[0\/3 files\]: 40 rows read, 40 embedded, 0 rejected, .* 400 tokens, 0 retries\n$/,
    );
    expect(lines.at(-1)).toMatch(/^\[1\/3 files\]: 65 rows read, 65 embedded, .* 650 tokens/);
  });

  it('names the file instead when there is only one', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const files = new FilesProgress('in/products.csv', 1, stream, 0);
    files.update(0, progress(7));
    expect(lines[0]).toMatch(/^in\/products\.csv: 7 rows read/);
  });
});
