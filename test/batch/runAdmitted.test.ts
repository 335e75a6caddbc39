import { describe, expect, it } from 'vitest';
import { runAdmitted, weightOfBytes } from '../../lambda/batch/runAdmitted.ts';

describe('Unit: runAdmitted', () => {
  it('keeps at most maxOpen items and maxWeight of weight at work, a heavy item alone, in order', async () => {
    // Arrange: weights 1 x 6, then 10 (over the budget of 4: alone), then 2, 2
    const weights = [1, 1, 1, 1, 1, 1, 10, 2, 2];
    const open = new Map<number, number>();
    const seen: { count: number; weight: number; heavyWithOthers: boolean }[] = [];
    const started: number[] = [];

    // Act
    const count = await runAdmitted(weights, { weight: (w) => w, maxWeight: 4, maxOpen: 3 }, async (w, i) => {
      started.push(i);
      open.set(i, w);
      const load = [...open.values()].reduce((a, b) => a + b, 0);
      seen.push({ count: open.size, weight: load, heavyWithOthers: open.has(6) && open.size > 1 });
      await new Promise((resolve) => setTimeout(resolve, 5 + (i % 3)));
      open.delete(i);
    });

    // Assess
    expect(count).toBe(weights.length);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Math.max(...seen.map((s) => s.count))).toBe(3);
    expect(
      seen.filter((s) => !s.heavyWithOthers && s.count > 0).every((s) => s.weight <= 4 || s.count === 1),
    ).toBe(true);
    expect(seen.some((s) => s.heavyWithOthers)).toBe(false);
  });

  it('starts nothing more once halted, and says how many it started', async () => {
    let halt = false;
    const count = await runAdmitted([1, 2, 3, 4, 5], { maxOpen: 1, halted: () => halt }, async (n) => {
      if (n === 2) halt = true;
    });
    expect(count).toBe(2);
  });

  it('weighs a file by its size in 64 KiB, at least 1', () => {
    expect([
      weightOfBytes(undefined),
      weightOfBytes(10),
      weightOfBytes(64 * 1024 + 1),
      weightOfBytes(1 << 20),
    ]).toEqual([1, 1, 2, 16]);
  });
});
