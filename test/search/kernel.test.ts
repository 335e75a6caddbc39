import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../bench/generateInput.ts';
import { cosineSimilarity } from '../../lambda/embed/featureHash.ts';
import { VectorKernel } from '../../lambda/search/kernel/VectorKernel.ts';
import { VECTOR_KERNEL_WASM } from '../../lambda/search/kernel/vectorKernelWasm.ts';
import { TopK } from '../../lambda/search/TopK.ts';
import { unitVector } from '../../lambda/search/unitVector.ts';
import { assembleKernel } from '../../tools/buildKernel.ts';

const vectorOf = (d: number) =>
  fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: d, maxLength: d });

/** BYTE_STREAM_SPLIT as the format defines it: byte b of value i at b * count + i. */
function split(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < values.length; i++)
    for (let b = 0; b < 4; b++) out[b * values.length + i] = bytes[i * 4 + b] as number;
  return out;
}

describe('Class: VectorKernel', () => {
  it('gives the cosine of the query with every row, from any offset, any length and any dimension', async () => {
    const kernel = await VectorKernel.load();
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 41 }).chain((d) =>
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

          // Act
          const scores = Array.from(kernel.scores(unitVector(q), flat, offsetRows * d, rows.length));

          // Assess
          rows.forEach((row, i) => {
            const expected = cosineSimilarity(q, Float32Array.from(row));
            expect(scores[i]).toBeCloseTo(expected, 4);
          });
        },
      ),
    );
  });

  it('puts byte-stream-split floats back together exactly, for any count and any place in the batch', async () => {
    const kernel = await VectorKernel.load();
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true }), { minLength: 0, maxLength: 70 }),
        fc.integer({ min: 0, max: 9 }),
        (values, at) => {
          // Prepare
          const floats = Float32Array.from(values);
          kernel.prepare(1, at + floats.length + 3);
          kernel.vectors().fill(7);

          // Act
          kernel.unsplit(split(floats), floats.length, at);

          // Assess: the floats where asked, bit for bit (-0 too), and nothing around them touched
          const batch = kernel.vectors();
          expect(Array.from(batch.subarray(at, at + floats.length))).toEqual(Array.from(floats));
          expect(
            [...batch.subarray(0, at), ...batch.subarray(at + floats.length)].every((v) => v === 7),
          ).toBe(true);
        },
      ),
    );
  });

  it('scores a batch where it was decoded, through memory that grew past its first size', async () => {
    // Prepare: 3,000 vectors of 384 floats (4.6 MB), far past the kernel's first 64 KiB
    const kernel = await VectorKernel.load();
    const rows = 3000;
    const d = 384;
    const random = createRandom(5);
    const flat = Float32Array.from({ length: rows * d }, () => random() * 2 - 1);
    const query = unitVector(Float32Array.from({ length: d }, () => random() * 2 - 1));
    kernel.prepare(rows, d);
    const half = (rows * d) / 2;
    kernel.unsplit(split(flat.subarray(0, half)), half, 0);
    kernel.putFloats(new Uint8Array(flat.buffer, half * 4), half);

    // Act
    const scores = Array.from(kernel.scores(query, kernel.vectors(), 0, rows));

    // Assess
    expect(Array.from(kernel.vectors())).toEqual(Array.from(flat));
    for (const r of [0, 1, 1499, 1500, 2999]) {
      expect(scores[r]).toBeCloseTo(cosineSimilarity(query, flat.subarray(r * d, (r + 1) * d)), 5);
    }
  });

  it('refuses floats outside the prepared batch', async () => {
    // Prepare
    const kernel = await VectorKernel.load();
    kernel.prepare(2, 4);

    // Act / Assess
    expect(() => kernel.putFloats(new Uint8Array(8), 7)).toThrow(/within the batch of 8/);
    expect(() => kernel.unsplit(new Uint8Array(12), 4, 0)).toThrow(/Expected 16 bytes/);
  });

  it('runs the module assembled from vectorKernel.wat as it stands (npm run build:kernel)', async () => {
    // Act
    const bytes = await assembleKernel();

    // Assess
    expect(Buffer.from(bytes).toString('base64')).toBe(VECTOR_KERNEL_WASM);
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
