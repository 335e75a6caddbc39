import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { ObjectStore } from '../../lambda/store/ObjectStore.ts';
import { RoutingStore } from '../../lambda/store/RoutingStore.ts';
import type { SourceInfo } from '../../lambda/types.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';

/** An in-memory stand-in for the S3 store that records what it was asked. */
class FakeS3 implements ObjectStore {
  readonly calls: string[] = [];
  readonly objects = new Map<string, string>();

  async get(uri: string) {
    this.calls.push(`get ${uri}`);
    const text = this.objects.get(uri) ?? '';
    async function* body() {
      yield Buffer.from(text);
    }
    return { info: { uri, bytes: text.length }, body: body() };
  }
  async head(uri: string) {
    this.calls.push(`head ${uri}`);
    return this.objects.has(uri) ? { uri, bytes: 1 } : undefined;
  }
  async *list(prefix: string): AsyncIterable<SourceInfo> {
    this.calls.push(`list ${prefix}`);
    for (const uri of this.objects.keys()) if (uri.startsWith(prefix)) yield { uri, bytes: 1 };
  }
  async put(uri: string, body: Uint8Array | string) {
    this.calls.push(`put ${uri}`);
    this.objects.set(uri, String(body));
    return { bytes: body.length };
  }
  async putStream(uri: string) {
    this.calls.push(`putStream ${uri}`);
    return { bytes: 0 };
  }
  async copy(from: string, to: string) {
    this.calls.push(`copy ${from} ${to}`);
    this.objects.set(to, this.objects.get(from) ?? '');
  }
  async getText(uri: string) {
    this.calls.push(`getText ${uri}`);
    return this.objects.get(uri);
  }
  async delete(uris: readonly string[]) {
    this.calls.push(`delete ${uris.join(',')}`);
  }
  async rename(from: string, to: string) {
    this.calls.push(`rename ${from} ${to}`);
  }
  async putIfAbsent(uri: string) {
    this.calls.push(`putIfAbsent ${uri}`);
    return true;
  }
  async putIfMatch(uri: string) {
    this.calls.push(`putIfMatch ${uri}`);
    return true;
  }
}

describe('Class: RoutingStore', () => {
  let dir: string;
  useTempDir((made) => {
    dir = made;
  });

  it('sends s3:// URIs to the S3 store and everything else to the local store', async () => {
    // Prepare
    const s3 = new FakeS3();
    const store = new RoutingStore({ local: new LocalStore(), s3 });
    const local = path.join(dir, 'out', 'usage.json');

    // Act
    await store.put('s3://b/out/usage.json', '{}');
    await store.put(local, '{"local":true}');
    const fromS3 = await store.getText('s3://b/out/usage.json');
    const fromDisk = await store.getText(local);
    const listed: string[] = [];
    for await (const info of store.list('s3://b/out/')) listed.push(info.uri);

    // Assess
    expect(fromS3).toBe('{}');
    expect(fromDisk).toBe('{"local":true}');
    expect(listed).toEqual(['s3://b/out/usage.json']);
    expect(s3.calls).toEqual([
      'put s3://b/out/usage.json',
      'getText s3://b/out/usage.json',
      'list s3://b/out/',
    ]);
  });

  it('splits a mixed delete between the stores', async () => {
    // Prepare
    const s3 = new FakeS3();
    const store = new RoutingStore({ s3 });
    const local = path.join(dir, 'x.txt');
    await store.put(local, 'x');

    // Act
    await store.delete(['s3://b/1', local, 's3://b/2']);

    // Assess
    expect(s3.calls).toEqual(['delete s3://b/1,s3://b/2']);
    expect(await store.head(local)).toBeUndefined();
  });

  it('refuses s3:// URIs with a ConfigError when no S3 store is configured', async () => {
    // Prepare
    const store = new RoutingStore({ local: new LocalStore() });

    // Act & Assess
    await expect(store.get('s3://b/in.csv')).rejects.toThrow(ConfigError);
    await expect(store.head('s3://b/in.csv')).rejects.toThrow('s3://b/in.csv is an S3 URI');
    expect(() => store.list('s3://b/')).toThrow(ConfigError);
    await expect(store.delete(['s3://b/x'])).rejects.toThrow(ConfigError);
  });
});
