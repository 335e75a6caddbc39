/**
 * The search's number crunching, in WebAssembly with SIMD (vectorKernel.wat):
 * putting BYTE_STREAM_SPLIT floats back together and scoring a batch of
 * vectors against the query, each about ten times faster than the same loops
 * in JavaScript (BENCHMARKS.md, section 8).
 *
 * The kernel's memory holds, in this order: the query, a batch's scores, the
 * batch's vectors, and a scratch area for one page being put back together.
 * {@link VectorKernel.prepare} lays out the first three for a batch; the
 * scratch area after them grows as pages need. Methods take float positions,
 * never views, so growing the memory (which replaces its buffer) breaks no
 * caller; a view handed out is valid until the next call.
 */
import { VECTOR_KERNEL_WASM } from './vectorKernelWasm.ts';

/** What this file uses of the WebAssembly API (the compiler's lib here has no DOM types). */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object): Promise<{ readonly exports: object }>;
}
const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

interface KernelExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  unsplit(source: number, count: number, destination: number): void;
  cosine(query: number, vectors: number, rows: number, dimensions: number, scores: number): void;
}

const PAGE = 64 * 1024;
const ALIGN = 16;
const align = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN;

let compiled: Promise<object> | undefined;

export class VectorKernel {
  readonly #wasm: KernelExports;
  #dimensions = 0;
  #rows = 0;
  #scores = 0;
  #vectors = 0;
  #scratch = 0;

  private constructor(wasm: KernelExports) {
    this.#wasm = wasm;
  }

  /** A kernel with its own memory (one per scan: a scan's batch must not be another's); the module is compiled once per process. */
  static async load(): Promise<VectorKernel> {
    compiled ??= wasmApi.compile(Buffer.from(VECTOR_KERNEL_WASM, 'base64'));
    const instance = await wasmApi.instantiate(await compiled);
    return new VectorKernel(instance.exports as unknown as KernelExports);
  }

  /** Lays out room for `rows` vectors of `dimensions` floats; what the batch held before is gone. */
  prepare(rows: number, dimensions: number): void {
    this.#rows = rows;
    this.#dimensions = dimensions;
    this.#scores = align(dimensions * 4);
    this.#vectors = this.#scores + align(rows * 8);
    this.#scratch = this.#vectors + align(rows * dimensions * 4);
    this.#reserve(this.#scratch);
  }

  /** The batch's vectors (`rows x dimensions` floats, row after row): a view valid until the next call. */
  vectors(): Float32Array {
    return new Float32Array(this.#wasm.memory.buffer, this.#vectors, this.#rows * this.#dimensions);
  }

  /** Copies little-endian floats (a PLAIN page's bytes) into the batch from float `at` on. */
  putFloats(bytes: Uint8Array, at: number): void {
    this.#checkRoom(at, bytes.byteLength / 4);
    new Uint8Array(this.#wasm.memory.buffer, this.#vectors + at * 4, bytes.byteLength).set(bytes);
  }

  /**
   * Puts `count` BYTE_STREAM_SPLIT floats (`split`: their four byte planes,
   * one after another) back together into the batch from float `at` on.
   */
  unsplit(split: Uint8Array, count: number, at: number): void {
    if (split.byteLength !== count * 4)
      throw new RangeError(`Expected ${count * 4} bytes of split floats, got ${split.byteLength}`);
    this.#checkRoom(at, count);
    this.#reserve(this.#scratch + split.byteLength);
    new Uint8Array(this.#wasm.memory.buffer, this.#scratch, split.byteLength).set(split);
    this.#wasm.unsplit(this.#scratch, count, this.#vectors + at * 4);
  }

  /**
   * Cosine similarity of `unitQuery` (unit length) with each of `rows`
   * vectors: those of `values` from float `offset` on, or, when `values` is
   * this kernel's own {@link vectors} view, the batch where it lies. A zero
   * vector scores 0. The scores are a view valid until the next call.
   */
  scores(unitQuery: Float32Array, values: Float32Array, offset: number, rows: number): Float64Array {
    const d = unitQuery.length;
    const inPlace =
      values.buffer === this.#wasm.memory.buffer &&
      values.byteOffset + offset * 4 === this.#vectors &&
      rows <= this.#rows &&
      d === this.#dimensions;
    if (!inPlace) {
      if (values.length < offset + rows * d)
        throw new RangeError(`Expected ${rows} vectors of ${d} floats from ${offset}, got ${values.length}`);
      // A view of this memory elsewhere would not survive the memory growing: copy it out first.
      const own = values.buffer === this.#wasm.memory.buffer;
      const source = own
        ? values.slice(offset, offset + rows * d)
        : values.subarray(offset, offset + rows * d);
      this.prepare(rows, d);
      new Float32Array(this.#wasm.memory.buffer, this.#vectors, rows * d).set(source);
    }
    const memory = this.#wasm.memory.buffer;
    new Float32Array(memory, 0, d).set(unitQuery);
    this.#wasm.cosine(0, this.#vectors, rows, d, this.#scores);
    return new Float64Array(memory, this.#scores, rows);
  }

  #checkRoom(at: number, floats: number): void {
    if (!Number.isInteger(at) || at < 0 || at + floats > this.#rows * this.#dimensions)
      throw new RangeError(
        `Expected floats ${at}..${at + floats} to lie within the batch of ${this.#rows * this.#dimensions}`,
      );
  }

  /** Grows the memory to at least `bytes`. */
  #reserve(bytes: number): void {
    const memory = this.#wasm.memory;
    if (memory.buffer.byteLength >= bytes) return;
    memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  }
}
