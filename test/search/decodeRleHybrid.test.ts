import { describe, expect, it } from 'vitest';
import { decodeRleHybrid } from '../../lambda/search/parquet/decodeRleHybrid.ts';

/** Bit-packs `values` (a multiple of 8) of `bitWidth` bits, least significant bit first, as one run. */
function bitPackedRun(values: readonly number[], bitWidth: number): number[] {
  let bits = 0n;
  values.forEach((value, i) => {
    bits |= BigInt(value) << BigInt(i * bitWidth);
  });
  const bytes = Array.from({ length: (values.length * bitWidth) / 8 }, (_, i) =>
    Number((bits >> BigInt(i * 8)) & 0xffn),
  );
  return [...uleb128((values.length / 8) * 2 + 1), ...bytes];
}

function rleRun(value: number, count: number, bitWidth: number): number[] {
  const width = Math.ceil(bitWidth / 8);
  return [
    ...uleb128(count * 2),
    ...Array.from({ length: width }, (_, i) => Math.floor(value / 256 ** i) % 256),
  ];
}

function uleb128(n: number): number[] {
  const out: number[] = [];
  do {
    const low = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? low | 0x80 : low);
  } while (n > 0);
  return out;
}

describe('Function: decodeRleHybrid', () => {
  it("decodes parquet-format's bit-packed example: 0 to 7 in 3 bits", () => {
    // Act, Assess: the bytes the specification shows
    expect([...decodeRleHybrid(Uint8Array.from([0x03, 0x88, 0xc6, 0xfa]), 3, 8)]).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  for (const bitWidth of [1, 7, 9, 17, 32]) {
    it(`decodes runs of both kinds, values of ${bitWidth} bits, stopping at the count asked`, () => {
      // Prepare
      const top = 2 ** bitWidth - 1;
      const packed = Array.from({ length: 16 }, (_, i) => (i * 2_654_435_761) % (top + 1));
      const bytes = Uint8Array.from([...rleRun(top, 300, bitWidth), ...bitPackedRun(packed, bitWidth)]);

      // Act
      const all = decodeRleHybrid(bytes, bitWidth, 316);
      const some = decodeRleHybrid(bytes, bitWidth, 305);

      // Assess
      expect([...all]).toEqual([...Array.from({ length: 300 }, () => top), ...packed]);
      expect([...some]).toEqual([...all].slice(0, 305));
    });
  }

  it('gives zeros for width 0, and refuses a stream shorter than the count', () => {
    // Act, Assess
    expect([...decodeRleHybrid(Uint8Array.from([0x08]), 0, 4)]).toEqual([0, 0, 0, 0]);
    expect(() => decodeRleHybrid(Uint8Array.from(rleRun(1, 4, 1)), 1, 5)).toThrow(
      'RLE data ends after 4 of 5 values',
    );
    expect(() => decodeRleHybrid(Uint8Array.from([0x03, 0x88]), 3, 8)).toThrow(
      'RLE data ends inside a bit-packed run',
    );
    expect(() => decodeRleHybrid(new Uint8Array(0), 33, 1)).toThrow(
      'Expected `bitWidth` to be an integer from 0 to 32, got 33',
    );
  });
});
