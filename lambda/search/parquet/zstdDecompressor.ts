/**
 * ZSTD decompression for the Parquet column reader: zstd's own decoder,
 * built to WebAssembly (zstdWasm.ts, from tools/buildZstd.ts), on every Node.
 * Node 20 has no ZSTD of its own; Node 24's `zlib.zstdDecompressSync`, used
 * here before, made a search slower than this one does (BENCHMARKS.md,
 * section 8): a fresh buffer for every page, and whole frames only.
 */
import { ZSTD_WASM } from './zstdWasm.ts';

/**
 * Decompresses one ZSTD frame of known decompressed size. The result may be a
 * view of a buffer that the next call reuses: use it before calling again.
 * Undefined when the frame does not decompress to `size` bytes.
 */
export interface Decompress {
  (data: Uint8Array, size: number): Uint8Array | undefined;
  /** Starts on a frame of `size` bytes that is decoded only as far as asked (see {@link PartialFrame}). */
  readonly partial: (data: Uint8Array, size: number) => PartialFrame;
}

/** A frame being decoded block by block, only as far as its reader asks. */
export interface PartialFrame {
  /**
   * At least the content's first `bytes` bytes (all `size` of it when it has
   * fewer), a view valid until the next decompression of any kind; undefined
   * when the frame is broken or does not hold `size` bytes.
   */
  upTo(bytes: number): Uint8Array | undefined;
}

interface ZstdExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  allocate(bytes: number): number;
  release(pointer: number): void;
  decompress(destination: number, capacity: number, source: number, size: number): number;
  begin_partial(destination: number, capacity: number, source: number, size: number): number;
  continue_partial(wanted: number): number;
}

/** What this file uses of the WebAssembly API (the compiler's lib here has no DOM types). */
interface WebAssemblyApi {
  instantiate(bytes: Uint8Array): Promise<{ readonly instance: { readonly exports: object } }>;
  readonly RuntimeError: ErrorConstructor;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

let ready: Promise<Decompress> | undefined;

/** The decompressor, loaded once per process. */
export function zstdDecompressor(): Promise<Decompress> {
  ready ??= load();
  return ready;
}

async function load(): Promise<Decompress> {
  const { instance } = await wasmApi.instantiate(Buffer.from(ZSTD_WASM, 'base64'));
  return reusingBuffers(instance.exports as ZstdExports);
}

/** The largest frame or content handled: what a wasm32 pointer and a Parquet page size (i32) can hold. */
const MAX_BYTES = 2 ** 31 - 1;

/** Whether a frame and its stated size are within {@link MAX_BYTES} (a crafted page may state any size). */
function sizesFit(data: Uint8Array, size: number): boolean {
  return Number.isInteger(size) && size >= 0 && size <= MAX_BYTES && data.byteLength <= MAX_BYTES;
}

/**
 * The call's result, or -1 (an error, as zstd's are negative here) when the
 * module traps: zstd checks its bounds, but a trap must read as a broken
 * frame, which the caller hands to the general reader, not end the search.
 */
function trapless(call: () => number): number {
  try {
    return call();
  } catch (error) {
    if (error instanceof wasmApi.RuntimeError) return -1;
    throw error;
  }
}

/** A buffer in wasm memory. */
interface WasmBuffer {
  readonly pointer: number;
  readonly capacity: number;
}

/**
 * Decompression into input and output buffers in wasm memory that grow as
 * needed and are reused; partial frames have buffers of their own.
 */
function reusingBuffers(wasm: ZstdExports): Decompress {
  // The new buffer first, the old one freed after: a failed allocation leaves the old one in place.
  const reserve = (buffer: WasmBuffer, bytes: number): WasmBuffer => {
    if (buffer.capacity >= bytes) return buffer;
    const capacity = Math.min(MAX_BYTES, Math.max(bytes, 2 * buffer.capacity));
    // An i32 to JavaScript: read as unsigned, a pointer past 2 GiB would be negative.
    const pointer = wasm.allocate(capacity) >>> 0;
    if (pointer === 0) throw new RangeError(`zstd: cannot allocate ${capacity} bytes`);
    if (buffer.pointer !== 0) wasm.release(buffer.pointer);
    return { pointer, capacity };
  };
  const none: WasmBuffer = { pointer: 0, capacity: 0 };
  let input = none;
  let output = none;
  let partialInput = none;
  let partialOutput = none;
  // Frames are decoded one at a time: starting another ends the one before.
  let current: object | undefined;
  // Views are made after the allocations: growing the memory replaces its buffer.
  const copyIn = (buffer: WasmBuffer, data: Uint8Array): void => {
    new Uint8Array(wasm.memory.buffer, buffer.pointer, data.byteLength).set(data);
  };
  // An error is a size_t far above any size: negative here, wasm32's i32 as a JavaScript number.
  const failed = (result: number): boolean => result < 0;
  const whole = (data: Uint8Array, size: number): Uint8Array | undefined => {
    if (!sizesFit(data, size)) return undefined;
    input = reserve(input, data.byteLength);
    output = reserve(output, size);
    copyIn(input, data);
    const written = trapless(() => wasm.decompress(output.pointer, size, input.pointer, data.byteLength));
    if (written !== size) return undefined;
    return new Uint8Array(wasm.memory.buffer, output.pointer, size);
  };
  const partial = (data: Uint8Array, size: number): PartialFrame => {
    if (!sizesFit(data, size)) return { upTo: () => undefined };
    partialInput = reserve(partialInput, data.byteLength);
    partialOutput = reserve(partialOutput, size);
    copyIn(partialInput, data);
    const frame = {};
    current = frame;
    let broken = failed(
      trapless(() => wasm.begin_partial(partialOutput.pointer, size, partialInput.pointer, data.byteLength)),
    );
    return {
      upTo: (bytes) => {
        if (broken || current !== frame) return undefined;
        const wanted = Math.min(bytes, size);
        const written = trapless(() => wasm.continue_partial(wanted));
        // Fewer than asked: the frame ended before its `size` bytes.
        broken = failed(written) || written < wanted;
        return broken ? undefined : new Uint8Array(wasm.memory.buffer, partialOutput.pointer, written);
      },
    };
  };
  return Object.assign(whole, { partial });
}
