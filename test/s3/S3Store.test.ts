import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, InputError } from '../../lambda/errors.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import { breakGetObjectBodies } from '../helpers/s3Faults.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';

const BUCKET = 'store-tests';
const MIB = 1024 * 1024;

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function listAll(store: S3Store, prefix: string): Promise<string[]> {
  const uris: string[] = [];
  for await (const info of store.list(prefix)) uris.push(info.uri);
  return uris;
}

describe('Class: S3Store', () => {
  let s3: LocalS3;
  let store: S3Store;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    store = new S3Store(s3.client);
  });

  afterAll(async () => {
    await s3?.stop();
  });

  it('streams a whole object with its size and an unquoted ETag', async () => {
    // Prepare
    const key = 'get/a file + ü.csv';
    await s3.putObject(BUCKET, key, 'id,text\n1,hello\n');

    // Act
    const opened = await store.get(`s3://${BUCKET}/${key}`);
    const bytes = await collect(opened.body);

    // Assess
    expect(bytes.toString()).toBe('id,text\n1,hello\n');
    expect(opened.info).toMatchObject({ uri: `s3://${BUCKET}/${key}`, bytes: 16 });
    expect(opened.info.etag).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reads an inclusive byte range and reports the size of the whole object', async () => {
    // Prepare
    await s3.putObject(BUCKET, 'get/range.txt', '0123456789');

    // Act
    const opened = await store.get(`s3://${BUCKET}/get/range.txt`, { start: 2, end: 5 });
    const bytes = await collect(opened.body);

    // Assess
    expect(bytes.toString()).toBe('2345');
    expect(opened.info.bytes).toBe(10);
  });

  it('reads a range past the end as empty', async () => {
    // Prepare
    await s3.putObject(BUCKET, 'get/short.txt', 'abc');

    // Act
    const opened = await store.get(`s3://${BUCKET}/get/short.txt`, { start: 10, end: 20 });

    // Assess
    expect((await collect(opened.body)).byteLength).toBe(0);
    expect(opened.info.bytes).toBe(3);
  });

  it('refuses a reversed range before sending anything', async () => {
    // Act & Assess
    await expect(store.get(`s3://${BUCKET}/get/range.txt`, { start: 5, end: 2 })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('throws an InputError naming the uri when the object does not exist', async () => {
    // Act
    const attempt = store.get(`s3://${BUCKET}/missing/nothing here.csv`);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow(`s3://${BUCKET}/missing/nothing here.csv`);
  });

  it('turns a body that breaks off mid-stream into an InputError with the bytes read', async () => {
    // Prepare
    const client = s3.newClient();
    const faulty = new S3Store(client);
    await s3.putObject(BUCKET, 'get/big.bin', randomBytes(256 * 1024));
    breakGetObjectBodies(client, { key: (key) => key === 'get/big.bin', afterBytes: 1000 });

    // Act
    const opened = await faulty.get(`s3://${BUCKET}/get/big.bin`);

    // Assess
    await expect(collect(opened.body)).rejects.toThrow(
      new InputError(
        `reading s3://${BUCKET}/get/big.bin failed after 1000 bytes: read ECONNRESET (injected by the test)`,
      ),
    );
    client.destroy();
  });

  it('heads an object, and answers undefined for a missing one', async () => {
    // Prepare
    await s3.putObject(BUCKET, 'head/x.json', '{}');

    // Act
    const found = await store.head(`s3://${BUCKET}/head/x.json`);
    const missing = await store.head(`s3://${BUCKET}/head/y.json`);

    // Assess
    expect(found).toMatchObject({ uri: `s3://${BUCKET}/head/x.json`, bytes: 2 });
    expect(found?.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(missing).toBeUndefined();
  });

  it('lists every key below a prefix across pages, in key order, without sibling prefixes', async () => {
    // Prepare
    const keys = Array.from({ length: 25 }, (_, i) => `list/dir/k-${String(i).padStart(3, '0')}.csv`);
    await Promise.all(keys.map((key) => s3.putObject(BUCKET, key, 'x')));
    await s3.putObject(BUCKET, 'list/dir2/other.csv', 'x');
    await s3.putObject(BUCKET, 'list/dir/folder/', '');
    const paged = new S3Store(s3.client, { listPageSize: 7 });

    // Act
    const uris = await listAll(paged, `s3://${BUCKET}/list/dir/`);

    // Assess
    expect(uris).toEqual(keys.map((key) => `s3://${BUCKET}/${key}`));
  });

  it('lists more than 1000 keys with default settings', async () => {
    // Prepare
    const keys = Array.from({ length: 1203 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key) => s3.putObject(BUCKET, key, '')));
    }

    // Act
    const uris = await listAll(store, `s3://${BUCKET}/many/`);

    // Assess
    expect(uris).toHaveLength(1203);
    expect(uris[1202]).toBe(`s3://${BUCKET}/many/01202`);
  });

  it('puts text and bytes, and reads text back', async () => {
    // Act
    const text = await store.put(`s3://${BUCKET}/put/ä.json`, '{"ä":1}');
    const bytes = await store.put(`s3://${BUCKET}/put/b.bin`, new Uint8Array([1, 2, 3]));

    // Assess
    expect(text.bytes).toBe(8);
    expect(bytes.bytes).toBe(3);
    expect(await store.getText(`s3://${BUCKET}/put/ä.json`)).toBe('{"ä":1}');
    expect(await store.getText(`s3://${BUCKET}/put/none.json`)).toBeUndefined();
  });

  it('copies an object server-side, keys with spaces and unicode included', async () => {
    // Prepare
    await store.put(`s3://${BUCKET}/copy/a b/ü+1.parquet`, 'part bytes');

    // Act
    await store.copy(`s3://${BUCKET}/copy/a b/ü+1.parquet`, `s3://${BUCKET}/copy/_previous/ü+1.parquet`);

    // Assess
    expect(await store.getText(`s3://${BUCKET}/copy/_previous/ü+1.parquet`)).toBe('part bytes');
    await expect(store.copy(`s3://${BUCKET}/copy/none`, `s3://${BUCKET}/copy/x`)).rejects.toBeInstanceOf(
      InputError,
    );
  });

  it('puts an empty object with a Content-Length, so the SDK does not warn', async () => {
    // Prepare
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);

    // Act
    const result = await store.put(`s3://${BUCKET}/put/empty.jsonl`, '');

    // Assess
    expect(result.bytes).toBe(0);
    expect(await store.getText(`s3://${BUCKET}/put/empty.jsonl`)).toBe('');
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('streams a body larger than one part as a multipart upload', async () => {
    // Prepare
    const data = randomBytes(19 * MIB);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < data.length; i += 1 * MIB) yield data.subarray(i, i + 1 * MIB);
    }

    // Act
    const result = await store.putStream(`s3://${BUCKET}/multi/big.parquet`, chunks());

    // Assess
    expect(result.bytes).toBe(data.length);
    const info = await store.head(`s3://${BUCKET}/multi/big.parquet`);
    // A multipart ETag is `<md5 of part md5s>-<part count>`: 19 MiB in 8 MiB parts is 3 parts.
    expect(info?.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(Buffer.compare(Buffer.from((await s3.getBytes(BUCKET, 'multi/big.parquet'))!), data)).toBe(0);
  });

  it('streams a small Readable with a single put', async () => {
    // Act
    const result = await store.putStream(`s3://${BUCKET}/multi/small.jsonl`, Readable.from(['a\n', 'b\n']));

    // Assess
    expect(result.bytes).toBe(4);
    expect(await store.getText(`s3://${BUCKET}/multi/small.jsonl`)).toBe('a\nb\n');
  });

  it('leaves no object behind when the streamed body fails', async () => {
    // Prepare
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(9 * MIB);
      throw new Error('source broke');
    }

    // Act
    const attempt = store.putStream(`s3://${BUCKET}/multi/failed.parquet`, failing());

    // Assess
    await expect(attempt).rejects.toThrow('source broke');
    expect(await store.head(`s3://${BUCKET}/multi/failed.parquet`)).toBeUndefined();
  });

  it('deletes more than 1000 objects, ignoring missing ones', async () => {
    // Prepare
    const keys = Array.from({ length: 1050 }, (_, i) => `del/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key) => s3.putObject(BUCKET, key, '')));
    }
    await s3.putObject(BUCKET, 'del-keep/x', '');

    // Act
    await store.delete([...keys.map((key) => `s3://${BUCKET}/${key}`), `s3://${BUCKET}/del/not-there`]);

    // Assess
    const left = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'del' }));
    expect(left.Contents?.map((o) => o.Key)).toEqual(['del-keep/x']);
  });

  it('does nothing for an empty delete', async () => {
    // Act & Assess
    await expect(store.delete([])).resolves.toBeUndefined();
  });
});
