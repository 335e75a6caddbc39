import type { Readable } from 'node:stream';
import type { SourceInfo } from '../types.ts';

/** An inclusive byte range, as in an HTTP Range header. */
export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/** An object opened for reading. */
export interface OpenedObject {
  readonly info: SourceInfo;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Object storage port. URIs are `s3://bucket/key` or local paths; each
 * implementation handles one kind, `RoutingStore` picks by scheme.
 * Nothing above this port knows which one it talks to.
 */
export interface ObjectStore {
  /** Streams an object (or a byte range of it). Throws `InputError` when it does not exist. */
  get(uri: string, range?: ByteRange): Promise<OpenedObject>;
  /** Size and ETag, or undefined when the object does not exist. */
  head(uri: string): Promise<SourceInfo | undefined>;
  /** Every object below a prefix (a folder for local paths), recursively, in key order. */
  list(prefixUri: string): AsyncIterable<SourceInfo>;
  /** Writes a whole object. Returns the bytes written. */
  put(uri: string, body: Uint8Array | string): Promise<{ bytes: number }>;
  /** Writes an object from a stream without holding it in memory (multipart on S3). */
  putStream(uri: string, body: Readable | AsyncIterable<Uint8Array>): Promise<{ bytes: number }>;
  /** The object as UTF-8 text, or undefined when it does not exist. */
  getText(uri: string): Promise<string | undefined>;
  /** Copies an object within this store (server-side on S3). Throws `InputError` when the source does not exist. */
  copy(fromUri: string, toUri: string): Promise<void>;
  /** Deletes objects; missing ones are not an error. */
  delete(uris: readonly string[]): Promise<void>;
  /**
   * Moves an object within this store, replacing what is at `toUri` (a rename
   * locally; CopyObject then delete on S3). Throws `InputError` when the source does not exist.
   */
  rename(fromUri: string, toUri: string): Promise<void>;
  /**
   * Writes a small object only when none exists at `uri` (S3: `If-None-Match: *`;
   * locally an exclusive create). Returns false when one exists.
   */
  putIfAbsent(uri: string, body: string): Promise<boolean>;
  /**
   * Replaces a small object only while its ETag is still `etag` (S3: `If-Match`;
   * locally compared and replaced at once). Returns false when it changed or is gone.
   */
  putIfMatch(uri: string, body: string, etag: string): Promise<boolean>;
  /**
   * Reads `length` bytes from `start` into one buffer (fewer when the object
   * ends first): into `into` when it is large enough (a reader that reuses
   * one buffer makes no garbage), else a new one. Optional: a fast path for
   * stores that can do it in one positioned read (local files); elsewhere use
   * a ranged `get`.
   */
  readRange?(uri: string, start: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * The object as a Blob read lazily by range (local files: `fs.openAsBlob`,
   * one read per slice, no stream), or undefined where the store has no such
   * thing (S3: use ranged `get`s). Optional.
   */
  openBlob?(uri: string): Promise<Blob | undefined>;
}
