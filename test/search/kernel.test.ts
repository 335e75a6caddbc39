import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cosineSimilarity } from '../../lambda/embed/featureHash.ts';
import { cosineScores, unitVector } from '../../lambda/search/cosineScores.ts';
import { TopK } from '../../lambda/search/TopK.ts';

const vectorOf = (d: number) =>
  fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: d, maxLength: d });

describe('Function: cosineScores', () => {
  it('gives the cosine of the query with every row of a flat buffer, from any offset and any length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 19 }).chain((d) =>
          fc.record({
            d: fc.constant(d),
            query: vectorOf(d),
            rows: fc.array(vectorOf(d), { minLength: 1, maxLength: 12 }),
            offsetRows: fc.integer({ min: 0, max: 3 }),
          }),
        ),
        ({ d, query, rows, offsetRows }) => {
          // Prepare
          const flat = new Float32Array((rows.length + offsetRows) * d);
          rows.forEach((row, i) => {
            flat.set(row, (i + offsetRows) * d);
          });
          const q = Float32Array.from(query);
          const scores = new Float64Array(rows.length);

          // Act
          cosineScores(unitVector(q), flat, offsetRows * d, rows.length, scores);

          // Assess
          rows.forEach((row, i) => {
            const expected = cosineSimilarity(q, Float32Array.from(row));
            expect(scores[i]).toBeCloseTo(expected, 4);
          });
        },
      ),
    );
  });
});

describe('Class: TopK', () => {
  it('keeps the k best scores, best first, the earlier offer first on a tie', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 8 }),
        (scores, k) => {
          // Prepare
          const top = new TopK<number>(k);

          // Act
          scores.forEach((score, i) => {
            top.offer(score, () => i);
          });

          // Assess
          const expected = scores
            .map((score, i) => ({ score, item: i }))
            .sort((a, b) => b.score - a.score || a.item - b.item)
            .slice(0, k);
          expect(top.sorted()).toEqual(expected);
        },
      ),
    );
  });

  it('builds an item only for offers it keeps', () => {
    // Prepare
    const top = new TopK<string>(2);
    let built = 0;
    const make = () => {
      built++;
      return 'x';
    };

    // Act
    for (const score of [5, 4, 1, 2, 3, 0]) top.offer(score, make);

    // Assess
    expect(built).toBe(2);
    expect(top.sorted().map((e) => e.score)).toEqual([5, 4]);
  });
});
