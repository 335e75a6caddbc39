/**
 * Parquet's RLE / bit-packed hybrid encoding, which holds definition and
 * repetition levels, dictionary indices and RLE booleans: a run of runs, each
 * with a ULEB128 header whose low bit says which kind it is. An RLE run
 * (bit 0) repeats one value, stored in `ceil(bitWidth / 8)` little-endian
 * bytes, `header >> 1` times; a bit-packed run (bit 1) holds
 * `(header >> 1) * 8` values of `bitWidth` bits each, packed from the least
 * significant bit of each byte.
 */

/**
 * The first `count` values of a hybrid stream.
 *
 * @param bytes The runs (no length prefix: the caller strips one where the page has it).
 * @param bitWidth Bits per value, 0 to 32.
 * @throws RangeError when the stream holds fewer than `count` values, or `bitWidth` is out of range.
 */
export function decodeRleHybrid(bytes: Uint8Array, bitWidth: number, count: number): Uint32Array {
  if (!Number.isInteger(bitWidth) || bitWidth < 0 || bitWidth > 32) {
    throw new RangeError(`Expected \`bitWidth\` to be an integer from 0 to 32, got ${bitWidth}`);
  }
  const out = new Uint32Array(count);
  // Width 0: every value is 0, whatever the runs say.
  if (bitWidth === 0) return out;
  const valueBytes = Math.ceil(bitWidth / 8);
  const scale = 2 ** bitWidth;
  let at = 0;
  let filled = 0;
  while (filled < count) {
    let header = 0;
    let shift = 1;
    for (;;) {
      if (at >= bytes.byteLength) throw new RangeError(`RLE data ends after ${filled} of ${count} values`);
      const byte = bytes[at++] as number;
      header += (byte & 0x7f) * shift;
      if ((byte & 0x80) === 0) break;
      shift *= 128;
    }
    if (header % 2 === 0) {
      const runLength = header / 2;
      if (at + valueBytes > bytes.byteLength) throw new RangeError('RLE data ends inside a run value');
      let value = 0;
      for (let b = valueBytes - 1; b >= 0; b--) value = value * 256 + (bytes[at + b] as number);
      at += valueBytes;
      const end = Math.min(count, filled + runLength);
      out.fill(value, filled, end);
      filled = end;
    } else {
      const values = ((header - 1) / 2) * 8;
      const runBytes = (values * bitWidth) / 8;
      const end = Math.min(count, filled + values);
      // The last run may be cut short by the writer's padding; only what is needed must be there.
      if (at + Math.ceil(((end - filled) * bitWidth) / 8) > bytes.byteLength) {
        throw new RangeError('RLE data ends inside a bit-packed run');
      }
      // Bits wait in `buffer` (a float, so widths up to 32 plus a byte's carry stay exact).
      let buffer = 0;
      let bits = 0;
      let byteAt = at;
      for (let i = filled; i < end; i++) {
        while (bits < bitWidth) {
          buffer += (bytes[byteAt++] as number) * 2 ** bits;
          bits += 8;
        }
        out[i] = buffer % scale;
        buffer = Math.floor(buffer / scale);
        bits -= bitWidth;
      }
      at += runBytes;
      filled = end;
    }
  }
  return out;
}
