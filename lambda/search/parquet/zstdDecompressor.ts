/**
 * ZSTD decompression for the Parquet column reader: zstd's own decoder built
 * to WebAssembly (the `zstddec` package), because Node 20's zlib has no zstd.
 * Node 22.15 and later have `zlib.zstdDecompressSync`, which is used where it exists.
 */
import zlib from 'node:zlib';
import { ZSTDDecoder } from 'zstddec';

/** Decompresses one ZSTD frame whose decompressed size is known. */
export type Decompress = (data: Uint8Array, size: number) => Uint8Array;

let ready: Promise<Decompress> | undefined;

/** The decompressor, loaded once per process. */
export function zstdDecompressor(): Promise<Decompress> {
  ready ??= load();
  return ready;
}

async function load(): Promise<Decompress> {
  const native = (zlib as { zstdDecompressSync?: (data: Uint8Array) => Buffer }).zstdDecompressSync;
  if (typeof native === 'function') return (data) => native(data);
  const decoder = new ZSTDDecoder();
  await decoder.init();
  return (data, size) => decoder.decode(data, size);
}
