import { Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import {
  Compression,
  Encoding,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../bench/generateInput.ts';
import { footerLength, parseFooter } from '../../lambda/search/parquet/ParquetFooter.ts';
import { pagesOf } from '../../lambda/search/parquet/pageHeaders.ts';
import { zstdDecompressor } from '../../lambda/search/parquet/zstdDecompressor.ts';
import { buildEmbeddingTable } from '../../lambda/write/buildEmbeddingTable.ts';

/**
 * The data pages of one text column written by parquet-wasm (Rust's zstd) twice: ZSTD frames, and
 * the same pages uncompressed, which are what the frames must decode to.
 */
function textPages(rows: number): { frames: Uint8Array[]; contents: Uint8Array[] } {
  const known = written.get(rows);
  if (known !== undefined) return known;
  const random = createRandom(5);
  // Texts with repeats and noise, so frames hold Huffman literals and many sequences.
  const texts = Array.from({ length: rows }, (_, i) =>
    `${i} ${'kettle spout '.repeat(1 + (i % 7))}${Math.floor(random() * 1e9).toString(36)}`.repeat(
      1 + (i % 3),
    ),
  );
  const pages = columnPages(new Table({ text: vectorFromArray(texts, new Utf8()) }), 256 * 1024);
  written.set(rows, pages);
  return pages;
}
const written = new Map<number, { frames: Uint8Array[]; contents: Uint8Array[] }>();

let floats: { frames: Uint8Array[]; contents: Uint8Array[] } | undefined;

/**
 * Pages of 2,000 dense random vectors of 384 floats, byte-stream-split as embed-batch writes them:
 * raw blocks for the low bytes, the sign-and-exponent bytes in Huffman blocks with thousands of
 * sequences.
 */
function floatPages(): { frames: Uint8Array[]; contents: Uint8Array[] } {
  if (floats !== undefined) return floats;
  const random = createRandom(8);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()) * 0.05;
  const rows = Array.from({ length: 2000 }, (_, i) => ({
    record: { record: i + 1, id: `r${i}`, text: `t${i}`, keep: {} },
    contentHash: `h${i}`,
    vector: Float32Array.from({ length: 384 }, normal),
  }));
  const table = buildEmbeddingTable(rows, {
    model: 'test/model',
    dimensions: 384,
    sourceUri: 'in.csv',
    createdAt: '2026-01-01T00:00:00.000Z',
    includeText: false,
    keepColumns: [],
  }).select(['embedding']);
  floats = columnPages(table, 1024 * 1024, true);
  return floats;
}

/** The data pages of a table's one column, written by parquet-wasm with ZSTD and uncompressed. */
function columnPages(
  table: Table,
  pageBytes: number,
  byteStreamSplit = false,
): { frames: Uint8Array[]; contents: Uint8Array[] } {
  const ipc = tableToIPC(table, 'stream');
  const pages = (compression: Compression): Uint8Array[] => {
    let builder = new WriterPropertiesBuilder()
      .setCompression(compression)
      .setDictionaryEnabled(false)
      .setDataPageSizeLimit(pageBytes);
    if (byteStreamSplit) builder = builder.setEncoding(Encoding.BYTE_STREAM_SPLIT);
    const bytes = writeParquet(WasmTable.fromIPCStream(ipc), builder.build());
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
  return { frames, contents };
}

/** How many raw blocks a ZSTD frame holds (RFC 8878, section 3.1.1), and how many sequences its compressed ones. */
function blockKinds(frame: Uint8Array): { raw: number; sequences: number } {
  const kinds = { raw: 0, sequences: 0 };
  const descriptor = frame[4] as number;
  const single = (descriptor >> 5) & 1;
  let at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]! + [single, 2, 4, 8][descriptor >> 6]!;
  for (;;) {
    const header =
      (frame[at] as number) | ((frame[at + 1] as number) << 8) | ((frame[at + 2] as number) << 16);
    const [type, size] = [(header >> 1) & 3, header >> 3];
    at += 3;
    if (type === 0) kinds.raw++;
    if (type === 2) kinds.sequences += sequencesOf(frame.subarray(at, at + size));
    at += type === 1 ? 1 : size;
    if ((header & 1) === 1) return kinds;
  }
}

/** The number of sequences of a compressed block: after its literals section (RFC 8878, 3.1.1.3.1). */
function sequencesOf(block: Uint8Array): number {
  const first = block[0] as number;
  const [type, format] = [first & 3, (first >> 2) & 3];
  let skip: number;
  if (type <= 1) {
    const size =
      format === 1
        ? (first >> 4) + ((block[1] as number) << 4)
        : format === 3
          ? (first >> 4) + ((block[1] as number) << 4) + ((block[2] as number) << 12)
          : first >> 3;
    const header = format === 1 ? 2 : format === 3 ? 3 : 1;
    skip = header + (type === 1 ? 1 : size);
  } else {
    const header = format <= 1 ? 3 : format === 2 ? 4 : 5;
    let bits = 0n;
    for (let i = header - 1; i >= 0; i--) bits = (bits << 8n) | BigInt(block[i] as number);
    const width = format <= 1 ? 10n : format === 2 ? 14n : 18n;
    skip = header + Number((bits >> (4n + width)) & ((1n << width) - 1n));
  }
  const count = block[skip] as number;
  if (count < 128) return count;
  if (count < 255) return ((count - 128) << 8) + (block[skip + 1] as number);
  return (block[skip + 1] as number) + ((block[skip + 2] as number) << 8) + 0x7f00;
}

describe('Function: zstdDecompressor', () => {
  it('decodes byte-stream-split float pages as embed-batch writes them, raw blocks and thousands of sequences, to their exact bytes', async () => {
    // Prepare
    const { frames, contents } = floatPages();
    const kinds = frames.map(blockKinds);
    const decompress = await zstdDecompressor();

    // Act
    const same = frames.map((frame, i) =>
      Buffer.from(decompress(frame, (contents[i] as Uint8Array).byteLength) ?? []).equals(
        contents[i] as Uint8Array,
      ),
    );

    // Assess: the frames are of the kind that matters, and decode exactly
    expect(kinds.reduce((sum, k) => sum + k.raw, 0)).toBeGreaterThan(4);
    expect(Math.max(...kinds.map((k) => k.sequences))).toBeGreaterThan(5000);
    expect(same).toEqual(frames.map(() => true));
  });

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

  it('refuses a stated size no page can have (negative, fractional, past 2 GiB) without touching its buffers', async () => {
    // Prepare
    const { frames, contents } = textPages(3000);
    const frame = frames[0] as Uint8Array;
    const content = contents[0] as Uint8Array;
    const decompress = await zstdDecompressor();

    // Act
    const refused = [-1, -content.byteLength, 0.5, 2 ** 31, Number.NaN].map((size) => ({
      whole: decompress(frame, size),
      partial: decompress.partial(frame, size).upTo(10),
    }));
    const after = Buffer.from(decompress(frame, content.byteLength) ?? []);
    const partialAfter = Buffer.from(
      decompress.partial(frame, content.byteLength).upTo(content.byteLength) ?? [],
    );

    // Assess: nothing decoded, and the decoder as good as before
    expect(refused).toEqual(refused.map(() => ({ whole: undefined, partial: undefined })));
    expect(after.equals(content)).toBe(true);
    expect(partialAfter.equals(content)).toBe(true);
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
