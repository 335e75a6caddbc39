import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../lambda/embed/modelFacts.ts';
import { RequestCounter } from '../../lambda/plan/RequestCounter.ts';

const limits = { maxInputs: 4, maxTokens: 100, maxBytes: 1_000_000 };

describe('Class: RequestCounter', () => {
  it('closes a batch when it is full, when the next text would pass the token cap, and at the end of a file', () => {
    // Prepare
    const packer = new RequestCounter(limits, 4, 16, 'per-file');
    const long = 'x'.repeat(240); // 80 estimated tokens: two do not fit in 100

    // Act
    for (let i = 0; i < 6; i++) packer.addText(0, `short ${i}`); // 4 + 2
    packer.addText(0, long); // joins the 2 shorts (tokens 2 x 3 + 80 <= 100)
    packer.addText(0, long); // does not fit: the batch of 3 goes
    packer.endFile(0);

    // Assess
    expect(estimateTokens(long)).toBe(80);
    expect(packer.requestsOf(0)).toBe(3);
    expect(packer.total).toBe(3);
  });

  it('packs the texts of several files into shared requests when batches span files', () => {
    // Prepare
    const perFile = new RequestCounter(limits, 4, 16, 'per-file');
    const across = new RequestCounter(limits, 4, 16, 'across-files');

    // Act
    for (const packer of [perFile, across]) {
      for (let file = 0; file < 5; file++) {
        for (const t of ['a', 'b', 'c']) packer.addText(file, `file ${file} text ${t}`);
        packer.endFile(file);
      }
      packer.finish();
    }

    // Assess: 5 files of 3 texts: 5 requests one file at a time, ceil(15 / 4) = 4 when spanning;
    // [0a 0b 0c 1a] [1b 1c 2a 2b] [2c 3a 3b 3c] [4a 4b 4c]
    expect(perFile.total).toBe(5);
    expect(across.total).toBe(4);
    expect([0, 1, 2, 3, 4].map((f) => across.requestsOf(f))).toEqual([1, 2, 2, 1, 1]);
  });

  it('keeps packing across a long run of records that need no request, until the window waits for the open one', () => {
    // Prepare: entries of up to 1,024 records (the entry cap for batches of 4), a window of 2 entries
    const packer = new RequestCounter(limits, 4, 2, 'per-file');
    const sparse = new RequestCounter(limits, 4, 16, 'per-file');

    // Act: one text, 1,024 reused records, another text, then 2,048 more reused and a third text
    for (const counter of [packer, sparse]) {
      counter.addText(0, 'first');
      for (let i = 0; i < 1_024; i++) counter.addOther(0);
      counter.addText(0, 'second');
      for (let i = 0; i < 2_048; i++) counter.addOther(0);
      counter.addText(0, 'third');
      counter.endFile(0);
    }

    // Assess: with a window of 16 all three share one request; with 2, the router waits for the
    // first entry while its request is still open, and that request goes with two texts.
    expect(sparse.total).toBe(1);
    expect(packer.total).toBe(2);
  });
});
