import { Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../bench/generateInput.ts';
import { footerLength, parseFooter } from '../../lambda/search/parquet/ParquetFooter.ts';
import { pagesOf } from '../../lambda/search/parquet/pageHeaders.ts';
import { zstdDecompressor } from '../../lambda/search/parquet/zstdDecompressor.ts';

/**
 * The data pages of one text column written by parquet-wasm (Rust's zstd) twice: ZSTD frames, and
 * the same pages uncompressed, which are what the frames must decode to.
 */
function textPages(rows: number): { frames: Uint8Array[]; contents: Uint8Array[] } {
  const known = written.get(rows);
  if (known !== undefined) return known;
  const random = createRandom(5);
  // Texts with repeats and noise, so frames hold raw, Huffman and sequence blocks, not one kind.
  const texts = Array.from({ length: rows }, (_, i) =>
    `${i} ${'kettle spout '.repeat(1 + (i % 7))}${Math.floor(random() * 1e9).toString(36)}`.repeat(
      1 + (i % 3),
    ),
  );
  const ipc = tableToIPC(new Table({ text: vectorFromArray(texts, new Utf8()) }), 'stream');
  const pages = (compression: Compression): Uint8Array[] => {
    const properties = new WriterPropertiesBuilder()
      .setCompression(compression)
      .setDictionaryEnabled(false)
      .setDataPageSizeLimit(256 * 1024)
      .build();
    const bytes = writeParquet(WasmTable.fromIPCStream(ipc), properties);
    const footer = parseFooter(
      bytes.subarray(
        bytes.byteLength - 8 - footerLength(bytes.subarray(bytes.byteLength - 8)),
        bytes.byteLength - 8,
      ),
    );
    return footer.rowGroups.flatMap((group) => {
      const chunk = group.columns[0];
      if (chunk === undefined) throw new Error('no chunk');
      return [...pagesOf(bytes.subarray(chunk.start, chunk.start + chunk.compressedBytes))].map(
        (page) => page?.data ?? new Uint8Array(),
      );
    });
  };
  const frames = pages(Compression.ZSTD);
  const contents = pages(Compression.UNCOMPRESSED);
  if (frames.length !== contents.length || frames.length < 2) throw new Error(`${frames.length} pages`);
  written.set(rows, { frames, contents });
  return { frames, contents };
}
const written = new Map<number, { frames: Uint8Array[]; contents: Uint8Array[] }>();

describe('Function: zstdDecompressor', () => {
  it('decodes frames of every size to their exact content, reusing and growing its buffers', async () => {
    // Prepare
    const { frames, contents } = textPages(6000);
    const decompress = await zstdDecompressor();
    expect(await zstdDecompressor()).toBe(decompress); // loaded once a process
    // Small first, then the largest: buffers grow after first use.
    const order = [...frames.keys()].sort(
      (a, b) => (contents[a]?.byteLength ?? 0) - (contents[b]?.byteLength ?? 0),
    );

    // Act
    const decoded = order.map((i) => {
      const out = decompress(frames[i] as Uint8Array, (contents[i] as Uint8Array).byteLength);
      return out === undefined ? undefined : Buffer.from(out);
    });

    // Assess
    expect(decoded.map((out, at) => out?.equals(contents[order[at] as number] as Uint8Array))).toEqual(
      order.map(() => true),
    );
  });

  it('returns undefined, not a wrong or short buffer, for a frame of another size, a truncated or a corrupt frame', async () => {
    // Prepare
    const { frames, contents } = textPages(3000);
    const frame = frames[0] as Uint8Array;
    const size = (contents[0] as Uint8Array).byteLength;
    const corrupt = Uint8Array.from(frame);
    corrupt.fill(0xff, 20, 60);
    const decompress = await zstdDecompressor();

    // Act, Assess
    expect(decompress(frame, size - 1)).toBeUndefined();
    expect(decompress(frame, size + 1)).toBeUndefined();
    expect(decompress(frame.subarray(0, frame.byteLength - 100), size)).toBeUndefined();
    expect(decompress(corrupt, size)).toBeUndefined();
    expect(decompress(new Uint8Array([1, 2, 3]), 3)).toBeUndefined();
    expect(Buffer.from(decompress(frame, size) ?? []).equals(contents[0] as Uint8Array)).toBe(true);
  });

  it('decodes a frame only as far as asked, block by block, each prefix the start of its content', async () => {
    // Prepare
    const { frames, contents } = textPages(6000);
    const index = contents.findIndex((content) => content.byteLength > 200 * 1024);
    const frame = frames[index] as Uint8Array;
    const content = Buffer.from(contents[index] as Uint8Array);
    const { partial } = await zstdDecompressor();

    // Act
    const decoding = partial(frame, content.byteLength);
    const first = decoding.upTo(1000);
    const firstBytes = first?.byteLength ?? 0;
    const firstPrefix = Buffer.from(first ?? []);
    const again = decoding.upTo(firstBytes); // already there: nothing more decoded
    const all = Buffer.from(decoding.upTo(content.byteLength + 99) ?? []);

    // Assess: one 128 KiB block or so at first, not the whole page
    expect(firstBytes).toBeGreaterThanOrEqual(1000);
    expect(firstBytes).toBeLessThanOrEqual(128 * 1024);
    expect(firstPrefix.equals(content.subarray(0, firstBytes))).toBe(true);
    expect(again?.byteLength).toBe(firstBytes);
    expect(all.equals(content)).toBe(true);
  });

  it('says a partial frame is broken when it ends early or is corrupt, and when another frame has begun since', async () => {
    // Prepare
    const { frames, contents } = textPages(6000);
    const index = contents.findIndex((content) => content.byteLength > 200 * 1024);
    const frame = frames[index] as Uint8Array;
    const size = (contents[index] as Uint8Array).byteLength;
    const { partial } = await zstdDecompressor();

    // Act
    const corrupt = Uint8Array.from(frame);
    corrupt.fill(0xff, frame.byteLength - 5000, frame.byteLength - 4000);
    const corruptAll = partial(corrupt, size).upTo(size);
    const truncated = partial(frame.subarray(0, frame.byteLength - 100), size);
    const truncatedStart = truncated.upTo(1000)?.byteLength;
    const truncatedAll = truncated.upTo(size);
    const longer = partial(frame, size + 10).upTo(size + 10);
    const older = partial(frame, size);
    const newer = partial(frame, size);
    const olderAfter = older.upTo(1000);
    const newerAfter = newer.upTo(1000)?.byteLength;

    // Assess
    expect(corruptAll).toBeUndefined();
    expect(truncatedStart).toBeGreaterThanOrEqual(1000);
    expect(truncatedAll).toBeUndefined();
    expect(truncated.upTo(10)).toBeUndefined();
    expect(longer).toBeUndefined();
    expect(olderAfter).toBeUndefined();
    expect(newerAfter).toBeGreaterThanOrEqual(1000);
  });
});
