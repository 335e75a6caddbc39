import type { Readable } from 'node:stream';
import type { SourceInfo } from '../types.ts';
import type { ByteRange, ObjectStore, OpenedObject } from './ObjectStore.ts';

/**
 * `ObjectStore` that builds the real store on first use, from an async
 * loader: the command line passes one that imports `S3Store` (and with it the
 * AWS SDK, about 0.1 s of module loading) only when an `s3://` URI is met, so
 * local runs and searches never load it. The loader runs once; when it
 * fails, every call rejects with its error.
 */
export class LazyStore implements ObjectStore {
  readonly #load: () => Promise<ObjectStore>;
  #store: Promise<ObjectStore> | undefined;

  constructor(load: () => Promise<ObjectStore>) {
    this.#load = load;
  }

  /** Whether the real store was asked for yet (tests). */
  get loaded(): boolean {
    return this.#store !== undefined;
  }

  #ready(): Promise<ObjectStore> {
    this.#store ??= this.#load();
    return this.#store;
  }

  async get(uri: string, range?: ByteRange): Promise<OpenedObject> {
    return (await this.#ready()).get(uri, range);
  }

  async head(uri: string): Promise<SourceInfo | undefined> {
    return (await this.#ready()).head(uri);
  }

  async *list(prefixUri: string): AsyncIterable<SourceInfo> {
    yield* (await this.#ready()).list(prefixUri);
  }

  async put(uri: string, body: Uint8Array | string): Promise<{ bytes: number }> {
    return (await this.#ready()).put(uri, body);
  }

  async putStream(uri: string, body: Readable | AsyncIterable<Uint8Array>): Promise<{ bytes: number }> {
    return (await this.#ready()).putStream(uri, body);
  }

  async getText(uri: string): Promise<string | undefined> {
    return (await this.#ready()).getText(uri);
  }

  async copy(fromUri: string, toUri: string): Promise<void> {
    return (await this.#ready()).copy(fromUri, toUri);
  }

  async delete(uris: readonly string[]): Promise<void> {
    return (await this.#ready()).delete(uris);
  }

  async rename(fromUri: string, toUri: string): Promise<void> {
    return (await this.#ready()).rename(fromUri, toUri);
  }

  async putIfAbsent(uri: string, body: string): Promise<boolean> {
    return (await this.#ready()).putIfAbsent(uri, body);
  }

  async putIfMatch(uri: string, body: string, etag: string): Promise<boolean> {
    return (await this.#ready()).putIfMatch(uri, body, etag);
  }
}
