import type { ObjectStore } from './ObjectStore.ts';

/**
 * A byte range of an object, in one buffer: one positioned read where the
 * store has it (local files; into `into` when large enough), else a ranged
 * `get` collected.
 */
export async function readRange(
  store: ObjectStore,
  uri: string,
  start: number,
  length: number,
  into?: Uint8Array,
): Promise<Uint8Array> {
  if (length <= 0) return new Uint8Array(0);
  if (store.readRange !== undefined) return store.readRange(uri, start, length, into);
  return collect((await store.get(uri, { start, end: start + length - 1 })).body, length);
}

/** A whole object, in one buffer. */
export async function readAll(store: ObjectStore, uri: string): Promise<Uint8Array> {
  if (store.readRange !== undefined) {
    const size = (await store.head(uri))?.bytes;
    if (size !== undefined) return store.readRange(uri, 0, size);
  }
  const opened = await store.get(uri);
  return collect(opened.body, opened.info.bytes);
}

/** The object as a Blob: lazily where the store can (local files), else downloaded. */
export async function blobOf(store: ObjectStore, uri: string): Promise<Blob> {
  return (await store.openBlob?.(uri)) ?? new Blob([await readAll(store, uri)]);
}

/** Chunks into one buffer; a right `size` saves every copy but the one out of the stream. */
async function collect(body: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array> {
  let out = new Uint8Array(size);
  let at = 0;
  for await (const chunk of body) {
    // More than announced (an object that changed under us): grow rather than fail.
    if (at + chunk.byteLength > out.byteLength) {
      const bigger = new Uint8Array(Math.max(out.byteLength * 2, at + chunk.byteLength));
      bigger.set(out.subarray(0, at));
      out = bigger;
    }
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return at === out.byteLength ? out : out.subarray(0, at);
}
