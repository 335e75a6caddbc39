/**
 * ZSTD decompression for the Parquet column reader. Node 22.15 and later have
 * `zlib.zstdDecompressSync`, used where it exists; Node 20 has none, so zstd's
 * own decoder built to WebAssembly (the `zstddec` package) does it there.
 */
import zlib from 'node:zlib';
import { ZSTDDecoder } from 'zstddec';

/**
 * Decompresses one ZSTD frame of known decompressed size. The result may be a
 * view of a buffer that the next call reuses: use it before calling again.
 * Undefined when the frame does not decompress to `size` bytes.
 */
export type Decompress = (data: Uint8Array, size: number) => Uint8Array | undefined;

interface ZstdExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  malloc(bytes: number): number;
  free(pointer: number): void;
  ZSTD_decompress(destination: number, capacity: number, source: number, size: number): number;
}

let ready: Promise<Decompress> | undefined;

/** The decompressor, loaded once per process. */
export function zstdDecompressor(): Promise<Decompress> {
  ready ??= load();
  return ready;
}

async function load(): Promise<Decompress> {
  const native = (
    zlib as { zstdDecompressSync?: (data: Uint8Array, options: { chunkSize: number }) => Buffer }
  ).zstdDecompressSync;
  if (typeof native === 'function') {
    return (data, size) => {
      // One output chunk of the known size (and a little): zlib's default of 16 KiB chunks, joined
      // at the end, spent more time copying and collecting garbage than decompressing.
      const out = native(data, { chunkSize: size + 64 });
      return out.byteLength === size ? out : undefined;
    };
  }
  const decoder = new ZSTDDecoder();
  // `init` hands the instantiated module to `_init` (public in its types): keep the instance, to
  // decompress into reused wasm buffers instead of `decode`'s fresh copy in and out of every page.
  let instance: { readonly exports: unknown } | undefined;
  const original = decoder._init.bind(decoder);
  decoder._init = (result) => {
    instance = (result as { readonly instance: { readonly exports: unknown } }).instance;
    original(result);
  };
  await initWithoutFetch(decoder);
  const exports = instance?.exports as ZstdExports | undefined;
  if (exports === undefined || typeof exports.ZSTD_decompress !== 'function') {
    return (data, size) => {
      const out = decoder.decode(data, size);
      return out.byteLength === size ? out : undefined;
    };
  }
  return reusingBuffers(exports);
}

/**
 * `ZSTDDecoder.init` loads its WebAssembly through `fetch` of a data URL
 * where `fetch` exists, which on Node 20 first loads undici: 33 to 61 ms
 * against 1 to 3 ms through its `Buffer` path, most of a search's start. So
 * `fetch` is hidden for the synchronous part of the call, in which it
 * chooses, and put back as it was (untouched, so still lazily loaded).
 */
function initWithoutFetch(decoder: ZSTDDecoder): Promise<void> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (descriptor === undefined || descriptor.configurable !== true) return decoder.init();
  Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
  try {
    return decoder.init();
  } finally {
    Object.defineProperty(globalThis, 'fetch', descriptor);
  }
}

/** Decompression into an input and an output buffer in wasm memory that grow as needed and are reused. */
function reusingBuffers(wasm: ZstdExports): Decompress {
  let input = { pointer: 0, capacity: 0 };
  let output = { pointer: 0, capacity: 0 };
  const reserve = (buffer: typeof input, bytes: number): typeof input => {
    if (buffer.capacity >= bytes) return buffer;
    if (buffer.pointer !== 0) wasm.free(buffer.pointer);
    const capacity = Math.max(bytes, 2 * buffer.capacity);
    const pointer = wasm.malloc(capacity);
    if (pointer === 0) throw new RangeError(`zstd: cannot allocate ${capacity} bytes`);
    return { pointer, capacity };
  };
  return (data, size) => {
    input = reserve(input, data.byteLength);
    output = reserve(output, size);
    // Views are made after the allocations: growing the memory replaces its buffer.
    new Uint8Array(wasm.memory.buffer, input.pointer, data.byteLength).set(data);
    const written = wasm.ZSTD_decompress(output.pointer, size, input.pointer, data.byteLength);
    // An error is a size_t far above `size`; anything else short of it is a wrong frame.
    if (written !== size) return undefined;
    return new Uint8Array(wasm.memory.buffer, output.pointer, size);
  };
}
