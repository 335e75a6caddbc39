import path from 'node:path';
import type { Readable } from 'node:stream';
import { LocalStore } from '../../lambda/store/LocalStore.ts';

/**
 * A real `LocalStore` that also records its writes and deletes, by file name
 * (`put usage.json`, `putStream errors.jsonl`, `rename a b`, `delete a,b`), to assert order.
 */
export class RecordingLocalStore extends LocalStore {
  readonly calls: string[] = [];

  override async put(uri: string, body: Uint8Array | string): Promise<{ bytes: number }> {
    this.calls.push(`put ${path.basename(uri)}`);
    return super.put(uri, body);
  }

  override async putStream(
    uri: string,
    body: Readable | AsyncIterable<Uint8Array>,
  ): Promise<{ bytes: number }> {
    this.calls.push(`putStream ${path.basename(uri)}`);
    return super.putStream(uri, body);
  }

  override async rename(fromUri: string, toUri: string): Promise<void> {
    this.calls.push(`rename ${path.basename(fromUri)} ${path.basename(toUri)}`);
    return super.rename(fromUri, toUri);
  }

  override async delete(uris: readonly string[]): Promise<void> {
    this.calls.push(`delete ${uris.map((uri) => path.basename(uri)).join(',')}`);
    return super.delete(uris);
  }
}
