import type { ObjectStore } from '../store/ObjectStore.ts';
import { basenameUri, joinUri } from '../store/uri.ts';
import type { Manifest } from '../write/Manifest.ts';
import { readContentHashes } from '../write/readVectorFile.ts';
import { type ReusablePart, readReusablePart } from './readReusablePart.ts';

// Rows per part stay below 2^20 (PartWriter caps parts at 100k rows), so a
// location packs into one number: part * 2^20 + row.
const ROW_BITS = 2 ** 20;
// The first 16 hex digits (64 bits) of a content hash key the index: half the
// memory of full hashes, and a hit is confirmed against the full hash anyway.
const KEY_LENGTH = 16;
// Decoded parts kept for lookups. Reruns of one export keep row order, so
// lookups walk the parts in order and two are plenty: each part is decoded
// once, at its first lookup.
const LOADED_PARTS = 2;

/** When an earlier output may lend its vectors to a new run. */
export interface ReuseCriteria {
  readonly model: string;
  /** Requested dimensions; an earlier output made with others is not reused. */
  readonly dimensions?: number;
}

/**
 * Vectors already written, looked up by `content_hash` so a text embedded
 * before needs no request: the parts of an earlier complete output (an
 * incremental rerun, or a new export replacing the old one in the same folder:
 * a vector depends on model, dimensions and text, not on the source), or the
 * parts a resumed run wrote before it was cut short.
 *
 * The parts are read where they are: a new run writes its own parts to the
 * scratch folder, so the earlier output stays untouched until the commit.
 * The index is built from the parts' `content_hash` columns alone; a part's
 * hashes and vectors are decoded at its first lookup (readReusablePart), once
 * however many lookups ask for it at the same time. Memory: an index entry
 * per earlier row (about 60 bytes) and at most two decoded parts.
 */
export class PreviousOutput {
  readonly #loaded = new Map<number, Promise<ReusablePart>>();

  private constructor(
    private readonly store: ObjectStore,
    private readonly parts: readonly string[],
    private readonly index: ReadonlyMap<string, number>,
  ) {}

  /** Rows the earlier output can lend. */
  get size(): number {
    return this.index.size;
  }

  /**
   * The vectors of an earlier complete output in `dir`, or undefined when it
   * cannot serve this run (another model or dimension, or no parts).
   */
  static async open(
    store: ObjectStore,
    dir: string,
    manifest: Manifest | undefined,
    criteria: ReuseCriteria,
  ): Promise<PreviousOutput | undefined> {
    if (!manifest || manifest.model !== criteria.model) return undefined;
    if (criteria.dimensions !== undefined && manifest.dimensions !== criteria.dimensions) return undefined;
    return PreviousOutput.over(
      store,
      manifest.parts.map((part) => joinUri(dir, basenameUri(part.uri))),
    );
  }

  /**
   * The vectors in these part files, or undefined when there are none. Of a
   * `both` output only the Parquet files are read (`.partial` ones of a
   * checkpoint too): the Arrow files hold the same rows.
   */
  static async over(store: ObjectStore, files: readonly string[]): Promise<PreviousOutput | undefined> {
    const parquet = files.filter((uri) => /\.parquet(\.partial)?$/.test(uri));
    const uris = parquet.length > 0 ? parquet : files.filter((uri) => /\.arrow(\.partial)?$/.test(uri));
    if (uris.length === 0) return undefined;
    const index = new Map<string, number>();
    // Hashes only: decoding every vector here would decode most parts twice
    // (once now, once when the lookups reach them), for the index alone.
    for (const [n, uri] of uris.entries()) {
      const hashes = await readContentHashes(store, uri);
      for (const [row, hash] of hashes.entries()) index.set(hash.slice(0, KEY_LENGTH), n * ROW_BITS + row);
    }
    return new PreviousOutput(store, uris, index);
  }

  /** The earlier vector of the text with this content hash, or undefined. */
  async lookup(contentHash: string): Promise<Float32Array | undefined> {
    const location = this.index.get(contentHash.slice(0, KEY_LENGTH));
    if (location === undefined) return undefined;
    const part = Math.floor(location / ROW_BITS);
    const row = location % ROW_BITS;
    const file = await this.#part(part);
    if (file.contentHash(row) !== contentHash) return undefined;
    // A copy, so a row waiting in the part writer does not pin a whole decoded part.
    return file.embedding(row).slice();
  }

  /** Lets the decoded parts go. */
  async dispose(): Promise<void> {
    this.#loaded.clear();
  }

  #part(n: number): Promise<ReusablePart> {
    const cached = this.#loaded.get(n);
    if (cached) return cached;
    const uri = this.parts[n];
    if (uri === undefined) throw new RangeError(`No part ${n}`);
    const file = readReusablePart(this.store, uri);
    // A part that failed to read is tried again by the next lookup, not remembered as failed.
    file.catch(() => {
      if (this.#loaded.get(n) === file) this.#loaded.delete(n);
    });
    this.#loaded.set(n, file);
    if (this.#loaded.size > LOADED_PARTS) {
      const oldest = this.#loaded.keys().next().value;
      if (oldest !== undefined) this.#loaded.delete(oldest);
    }
    return file;
  }
}
