import { describe, expect, it } from 'vitest';
import { stripBom } from '../../lambda/read/stripBom.ts';
import { chunked } from '../helpers/readFixtures.ts';

async function collect(bytes: number[], chunkSize: number): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stripBom(chunked(Uint8Array.from(bytes), chunkSize))) out.push(...chunk);
  return out;
}

describe('Function: stripBom', () => {
  it.each([1, 2, 3, 100])('drops a leading BOM in chunks of %i bytes', async (size) => {
    // Prepare, Act
    const bytes = await collect([0xef, 0xbb, 0xbf, 0x61, 0x62], size);

    // Assess
    expect(bytes).toEqual([0x61, 0x62]);
  });

  it('keeps bytes that only start like a BOM', async () => {
    // Prepare, Act
    const partial = await collect([0xef, 0xbb], 1);
    const other = await collect([0xef, 0xbb, 0x61], 1);

    // Assess
    expect(partial).toEqual([0xef, 0xbb]);
    expect(other).toEqual([0xef, 0xbb, 0x61]);
  });

  it('drops only the first BOM', async () => {
    // Prepare, Act
    const bytes = await collect([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], 2);

    // Assess
    expect(bytes).toEqual([0xef, 0xbb, 0xbf]);
  });
});
