/**
 * The pages of a column chunk, read from their thrift `PageHeader`s (field
 * ids of parquet-format's parquet.thrift), with the data and dictionary page
 * fields a value decoder needs picked out and typed. Reading a header costs
 * no decompression: a reader can step over pages it has no use for.
 */
import { ThriftCompactReader, type ThriftStruct } from './ThriftCompactReader.ts';
import type { Decompress } from './zstdDecompressor.ts';

/** parquet.thrift `CompressionCodec`s the page decoders read. */
export const CODEC = { uncompressed: 0, zstd: 6 } as const;

/** Whether the page decoders read this codec. */
export function canInflate(codec: number): boolean {
  return codec === CODEC.uncompressed || codec === CODEC.zstd;
}

/**
 * A page's bytes decompressed to `size`: the bytes themselves when
 * uncompressed, else a view the next decompression reuses (use it first);
 * undefined for another codec, or a frame that is not `size` bytes.
 */
export function inflatePage(
  data: Uint8Array,
  codec: number,
  size: number,
  zstd: Decompress,
): Uint8Array | undefined {
  if (codec === CODEC.uncompressed) return data;
  return codec === CODEC.zstd ? zstd(data, size) : undefined;
}

/** parquet.thrift `PageType`. */
export const PAGE_TYPE = { data: 0, index: 1, dictionary: 2, dataV2: 3 } as const;

/** One page of a column chunk, as its header describes it. */
export interface Page {
  /** parquet.thrift `PageType` (see {@link PAGE_TYPE}). */
  readonly type: unknown;
  readonly uncompressedSize: number;
  /** The page's bytes after its header (still compressed where the codec says so). */
  readonly data: Uint8Array;
  /** Where `data` starts in the chunk. */
  readonly dataStart: number;
  /** The whole header, for fields this module does not pick out. */
  readonly header: ThriftStruct;
}

/** A data page's header fields (`DataPageHeader` or `DataPageHeaderV2`). */
export interface DataPage {
  readonly version: 1 | 2;
  /** Level entries: values plus nulls (and, in a list column, empty lists). */
  readonly numValues: number;
  /** Rows; a v1 header does not say, so for a flat column it is `numValues`. */
  readonly numRows: number;
  /** parquet.thrift `Encoding` of the values: 0 PLAIN, 2 PLAIN_DICTIONARY, 3 RLE, 8 RLE_DICTIONARY, ... */
  readonly encoding: unknown;
  /** v1: `Encoding` of the definition levels (3 RLE; 4 the deprecated BIT_PACKED). */
  readonly definitionEncoding?: unknown;
  /** v2: the nulls in the page. */
  readonly nulls?: number;
  /** v2: bytes of repetition then definition levels at the start of `data`, never compressed. */
  readonly repetitionBytes: number;
  readonly definitionBytes: number;
  /** v2: whether the values after the levels are compressed (the default). v1 pages are compressed whole. */
  readonly compressed: boolean;
}

/** A dictionary page's header fields (`DictionaryPageHeader`). */
export interface DictionaryPage {
  readonly numValues: number;
  /** 0 PLAIN or 2 PLAIN_DICTIONARY, which both mean plain values here. */
  readonly encoding: unknown;
}

/**
 * The pages of a chunk in order; undefined (and the end) for a header that
 * is not one.
 *
 * @param bytes The chunk's bytes, from its first page (the dictionary page when it has one).
 */
export function* pagesOf(bytes: Uint8Array): Generator<Page | undefined> {
  let at = 0;
  while (at < bytes.byteLength) {
    const reader = new ThriftCompactReader(bytes, at);
    const header = reader.readStruct();
    const uncompressedSize = header.get(2);
    const compressedSize = header.get(3);
    if (typeof compressedSize !== 'number' || typeof uncompressedSize !== 'number') {
      yield undefined;
      return;
    }
    const dataStart = reader.offset;
    at = dataStart + compressedSize;
    if (at > bytes.byteLength) {
      yield undefined;
      return;
    }
    yield { type: header.get(1), uncompressedSize, data: bytes.subarray(dataStart, at), dataStart, header };
  }
}

/** The data page fields of a v1 or v2 data page; undefined for another page, or a header without them. */
export function dataPageOf(page: Page): DataPage | undefined {
  if (page.type === PAGE_TYPE.data) {
    const v1 = page.header.get(5);
    if (!(v1 instanceof Map)) return undefined;
    const numValues = (v1 as ThriftStruct).get(1);
    if (typeof numValues !== 'number') return undefined;
    return {
      version: 1,
      numValues,
      numRows: numValues,
      encoding: v1.get(2),
      definitionEncoding: v1.get(3),
      repetitionBytes: 0,
      definitionBytes: 0,
      compressed: true,
    };
  }
  if (page.type === PAGE_TYPE.dataV2) {
    const v2 = page.header.get(8);
    if (!(v2 instanceof Map)) return undefined;
    const field = (id: number): unknown => (v2 as ThriftStruct).get(id);
    const [numValues, nulls, numRows, repetitionBytes, definitionBytes] = [1, 2, 3, 6, 5].map(field);
    if (
      typeof numValues !== 'number' ||
      typeof nulls !== 'number' ||
      typeof numRows !== 'number' ||
      typeof repetitionBytes !== 'number' ||
      typeof definitionBytes !== 'number'
    ) {
      return undefined;
    }
    return {
      version: 2,
      numValues,
      numRows,
      encoding: field(4),
      nulls,
      repetitionBytes,
      definitionBytes,
      compressed: field(7) !== false,
    };
  }
  return undefined;
}

/** The fields of a dictionary page; undefined for another page, or a header without them. */
export function dictionaryPageOf(page: Page): DictionaryPage | undefined {
  if (page.type !== PAGE_TYPE.dictionary) return undefined;
  const header = page.header.get(7);
  if (!(header instanceof Map)) return undefined;
  const numValues = (header as ThriftStruct).get(1);
  if (typeof numValues !== 'number') return undefined;
  return { numValues, encoding: header.get(2) };
}
