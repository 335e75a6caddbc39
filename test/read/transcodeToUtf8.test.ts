import { describe, expect, it } from 'vitest';
import { type TranscodeOptions, transcodeToUtf8 } from '../../lambda/read/transcodeToUtf8.ts';
import { chunked } from '../helpers/readFixtures.ts';

async function collect(bytes: number[] | Buffer, chunkSize: number, options: TranscodeOptions = {}) {
  const text = await transcodeToUtf8(chunked(Uint8Array.from(bytes), chunkSize), options);
  const out: number[] = [];
  for await (const chunk of text.chunks) out.push(...chunk);
  return { encoding: text.encoding, fromBom: text.fromBom, bytes: out };
}

describe('Function: transcodeToUtf8', () => {
  it.each([1, 2, 3, 100])('drops a leading UTF-8 BOM in chunks of %i bytes', async (size) => {
    // Prepare, Act
    const out = await collect([0xef, 0xbb, 0xbf, 0x61, 0x62], size);

    // Assess
    expect(out).toEqual({ encoding: 'utf-8', fromBom: true, bytes: [0x61, 0x62] });
  });

  it('keeps bytes that only start like a BOM, and drops only the first BOM', async () => {
    // Prepare, Act
    const partial = await collect([0xef, 0xbb], 1);
    const other = await collect([0xef, 0xbb, 0x61], 1);
    const twice = await collect([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], 2);

    // Assess
    expect(partial.bytes).toEqual([0xef, 0xbb]);
    expect(other.bytes).toEqual([0xef, 0xbb, 0x61]);
    expect(twice.bytes).toEqual([0xef, 0xbb, 0xbf]);
  });

  it.each([1, 2, 3, 5])(
    'decodes UTF-16LE and BE with surrogate pairs split across chunks of %i bytes',
    async (size) => {
      // Prepare
      const text = 'a€😀\n';
      const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);

      // Act
      const fromLe = await collect(le, size);
      const fromBe = await collect(be, size);

      // Assess
      expect(Buffer.from(fromLe.bytes).toString('utf8')).toBe(text);
      expect(fromLe.encoding).toBe('utf-16le');
      expect(Buffer.from(fromBe.bytes).toString('utf8')).toBe(text);
      expect(fromBe.encoding).toBe('utf-16be');
    },
  );

  it('ignores a UTF-16 BOM away from the file start (a shard), where its bytes are data', async () => {
    // Prepare, Act
    const out = await collect([0xff, 0xfe, 0x61], 1, { atFileStart: false });

    // Assess
    expect(out).toEqual({ encoding: 'utf-8', fromBom: false, bytes: [0xff, 0xfe, 0x61] });
  });

  it('maps windows-1252 to UTF-8 and its five undefined bytes to 0xFF, which no UTF-8 text holds', async () => {
    // Prepare, Act
    const out = await collect([0x80, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0x9f, 0xe9, 0x41], 1, {
      encoding: 'windows-1252',
    });

    // Assess
    expect(Buffer.from(out.bytes)).toEqual(
      Buffer.concat([
        Buffer.from('€', 'utf8'),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
        Buffer.from('Ÿ', 'utf8'),
        Buffer.from('éA', 'utf8'),
      ]),
    );
  });
});
