import type { Readable } from 'node:stream';
import { ConfigError } from '../errors.ts';
import type { SourceInfo } from '../types.ts';
import { LocalStore } from './LocalStore.ts';
import type { ByteRange, ObjectStore, OpenedObject } from './ObjectStore.ts';
import { isS3Uri } from './uri.ts';

/** The stores a `RoutingStore` picks from. */
export interface RoutingStoreOptions {
  /** Store for everything that is not `s3://`. @default new LocalStore() */
  readonly local?: ObjectStore;
  /**
   * Store for `s3://` URIs, or a factory called on first use (so a local-only
   * run never builds an S3 client). @default undefined (S3 URIs are refused with a ConfigError)
   */
  readonly s3?: ObjectStore | (() => ObjectStore);
}

/**
 * `ObjectStore` that sends `s3://` URIs to the S3 store and everything else to
 * the local one, so the pipeline can read `s3://` and write a local folder (or
 * the other way round) through one port.
 */
export class RoutingStore implements ObjectStore {
  readonly #local: ObjectStore;
  #s3: ObjectStore | (() => ObjectStore) | undefined;

  constructor(options: RoutingStoreOptions = {}) {
    this.#local = options.local ?? new LocalStore();
    this.#s3 = options.s3;
  }

  /** The store that handles `uri`. @throws ConfigError for an S3 URI without an S3 store. */
  storeFor(uri: string): ObjectStore {
    if (!isS3Uri(uri)) return this.#local;
    if (this.#s3 === undefined) {
      throw new ConfigError(`${uri} is an S3 URI, but no S3 store is configured (S3 access is off here)`);
    }
    if (typeof this.#s3 === 'function') this.#s3 = this.#s3();
    return this.#s3;
  }

  get(uri: string, range?: ByteRange): Promise<OpenedObject> {
    return this.#route(uri, (store) => store.get(uri, range));
  }

  head(uri: string): Promise<SourceInfo | undefined> {
    return this.#route(uri, (store) => store.head(uri));
  }

  list(prefixUri: string): AsyncIterable<SourceInfo> {
    // Resolve the store now, so a missing S3 store fails at the call, not at the first `next()`.
    return this.storeFor(prefixUri).list(prefixUri);
  }

  put(uri: string, body: Uint8Array | string): Promise<{ bytes: number }> {
    return this.#route(uri, (store) => store.put(uri, body));
  }

  putStream(uri: string, body: Readable | AsyncIterable<Uint8Array>): Promise<{ bytes: number }> {
    return this.#route(uri, (store) => store.putStream(uri, body));
  }

  getText(uri: string): Promise<string | undefined> {
    return this.#route(uri, (store) => store.getText(uri));
  }

  async copy(fromUri: string, toUri: string): Promise<void> {
    const from = this.storeFor(fromUri);
    const to = this.storeFor(toUri);
    if (from === to) return from.copy(fromUri, toUri);
    // Across stores: stream it over.
    await to.putStream(toUri, (await from.get(fromUri)).body);
  }

  async delete(uris: readonly string[]): Promise<void> {
    const s3 = uris.filter(isS3Uri);
    const local = uris.filter((uri) => !isS3Uri(uri));
    if (s3.length > 0) await this.storeFor(s3[0] ?? '').delete(s3);
    if (local.length > 0) await this.#local.delete(local);
  }

  async rename(fromUri: string, toUri: string): Promise<void> {
    const from = this.storeFor(fromUri);
    if (from === this.storeFor(toUri)) return from.rename(fromUri, toUri);
    await this.copy(fromUri, toUri);
    await from.delete([fromUri]);
  }

  putIfAbsent(uri: string, body: string): Promise<boolean> {
    return this.#route(uri, (store) => store.putIfAbsent(uri, body));
  }

  putIfMatch(uri: string, body: string, etag: string): Promise<boolean> {
    return this.#route(uri, (store) => store.putIfMatch(uri, body, etag));
  }

  /** The routed store's positioned read, or a ranged `get` where it has none (S3). */
  async readRange(uri: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    const store = this.storeFor(uri);
    if (store.readRange !== undefined) return store.readRange(uri, start, length, into);
    const chunks: Uint8Array[] = [];
    if (length > 0)
      for await (const chunk of (await store.get(uri, { start, end: start + length - 1 })).body)
        chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** The routed store's lazy Blob; undefined where it has none (S3). */
  async openBlob(uri: string): Promise<Blob | undefined> {
    return this.storeFor(uri).openBlob?.(uri);
  }

  /** Runs `action` on the right store, turning a routing failure into a rejected promise. */
  async #route<T>(uri: string, action: (store: ObjectStore) => Promise<T>): Promise<T> {
    return action(this.storeFor(uri));
  }
}
