import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '../../lambda/errors.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function listAll(store: LocalStore, prefix: string): Promise<string[]> {
  const uris: string[] = [];
  for await (const info of store.list(prefix)) uris.push(info.uri);
  return uris;
}

describe('Class: LocalStore', () => {
  let dir: string;
  const store = new LocalStore();
  useTempDir((made) => {
    dir = made;
  });

  it('streams a whole file with its size and ETag', async () => {
    // Prepare
    const file = path.join(dir, 'in.csv');
    await writeFile(file, 'id,text\n1,hello\n');

    // Act
    const opened = await store.get(file);

    // Assess
    expect((await collect(opened.body)).toString()).toBe('id,text\n1,hello\n');
    expect(opened.info).toEqual({
      uri: file,
      bytes: 16,
      etag: expect.stringMatching(/^[0-9a-f]+-10-[0-9a-f]+$/),
    });
    expect(opened.info.etag).toBe((await store.head(file))?.etag);
  });

  it('reads an inclusive byte range and reports the size of the whole file', async () => {
    // Prepare
    const file = path.join(dir, 'range.txt');
    await writeFile(file, '0123456789');

    // Act
    const opened = await store.get(file, { start: 2, end: 5 });

    // Assess
    expect((await collect(opened.body)).toString()).toBe('2345');
    expect(opened.info.bytes).toBe(10);
  });

  it('reads a range past the end as empty, and one crossing the end up to the end', async () => {
    // Prepare
    const file = path.join(dir, 'short.txt');
    await writeFile(file, 'abc');

    // Act
    const past = await store.get(file, { start: 10, end: 20 });
    const crossing = await store.get(file, { start: 1, end: 20 });

    // Assess
    expect((await collect(past.body)).byteLength).toBe(0);
    expect((await collect(crossing.body)).toString()).toBe('bc');
  });

  it('reads a byte range into a given buffer, and fewer bytes where the file ends first', async () => {
    // Prepare
    const file = path.join(dir, 'positioned.bin');
    await writeFile(file, '0123456789');
    const buffer = new Uint8Array(8);

    // Act
    const into = await store.readRange(file, 2, 4, buffer);
    const crossing = await store.readRange(file, 7, 10);

    // Assess
    expect(Buffer.from(into).toString()).toBe('2345');
    expect(into.buffer).toBe(buffer.buffer);
    expect(Buffer.from(crossing).toString()).toBe('789');
  });

  it('names a file readRange cannot open', async () => {
    // Prepare
    const file = path.join(dir, 'no such.bin');

    // Act & Assess
    await expect(store.readRange(file, 0, 4)).rejects.toThrow(new InputError(`no such file: ${file}`));
  });

  it('refuses a reversed range', async () => {
    // Prepare
    const file = path.join(dir, 'r.txt');
    await writeFile(file, 'abc');

    // Act & Assess
    await expect(store.get(file, { start: 2, end: 1 })).rejects.toBeInstanceOf(ConfigError);
  });

  it('throws an InputError naming the path when the file does not exist', async () => {
    // Prepare
    const file = path.join(dir, 'missing', 'nothing here.csv');

    // Act
    const attempt = store.get(file);

    // Assess
    await expect(attempt).rejects.toThrow(new InputError(`no such file: ${file}`));
    await expect(attempt).rejects.toBeInstanceOf(InputError);
  });

  it('throws an InputError for a folder', async () => {
    // Act & Assess
    await expect(store.get(dir)).rejects.toThrow(new InputError(`not a file: ${dir}`));
  });

  it('accepts file:// URLs', async () => {
    // Prepare
    const file = path.join(dir, 'url.txt');
    await writeFile(file, 'via url');

    // Act
    const opened = await store.get(pathToFileURL(file).href);

    // Assess
    expect((await collect(opened.body)).toString()).toBe('via url');
  });

  it('refuses S3 URIs with a ConfigError', async () => {
    // Act & Assess
    await expect(store.get('s3://bucket/key.csv')).rejects.toBeInstanceOf(ConfigError);
  });

  it('heads a file, and returns undefined for a missing file or a folder', async () => {
    // Prepare
    const file = path.join(dir, 'h.json');
    await writeFile(file, '{}');

    // Act & Assess
    expect(await store.head(file)).toMatchObject({ uri: file, bytes: 2 });
    expect(await store.head(path.join(dir, 'nope.json'))).toBeUndefined();
    expect(await store.head(path.join(dir, 'h.json', 'below-a-file'))).toBeUndefined();
    expect(await store.head(dir)).toBeUndefined();
  });

  it('gives a file a new ETag when it is rewritten, even with the same size and mtime', async () => {
    // Prepare
    const file = path.join(dir, 'e.txt');
    await store.put(file, 'aaaa');
    const before = await stat(file);
    const first = (await store.head(file))?.etag;

    // Act
    await store.put(file, 'bbbb');
    await utimes(file, before.atime, before.mtime);

    // Assess
    expect((await store.head(file))?.etag).not.toBe(first);
    expect((await store.head(file))?.etag).toBe((await store.head(file))?.etag);
  });

  it('puts text and bytes, creating parent folders, and reads text back', async () => {
    // Prepare
    const textFile = path.join(dir, 'a', 'b', 'c.txt');
    const binFile = path.join(dir, 'a', 'd.bin');

    // Act
    const text = await store.put(textFile, 'grüße\n');
    const bytes = await store.put(binFile, new Uint8Array([1, 2, 3]));

    // Assess
    expect(text.bytes).toBe(8);
    expect(bytes.bytes).toBe(3);
    expect(await store.getText(textFile)).toBe('grüße\n');
    expect([...(await readFile(binFile))]).toEqual([1, 2, 3]);
    expect(await store.getText(path.join(dir, 'missing.txt'))).toBeUndefined();
  });

  it('puts a stream from a Readable or an async iterable, counting the bytes', async () => {
    // Prepare
    async function* chunks() {
      yield new Uint8Array(1_000).fill(97);
      yield new Uint8Array(500).fill(98);
    }

    // Act
    const fromIterable = await store.putStream(path.join(dir, 's', 'one.bin'), chunks());
    const fromReadable = await store.putStream(path.join(dir, 's', 'two.txt'), Readable.from(['x', 'yz']));

    // Assess
    expect(fromIterable.bytes).toBe(1_500);
    expect(fromReadable.bytes).toBe(3);
    expect((await readFile(path.join(dir, 's', 'one.bin'))).byteLength).toBe(1_500);
    expect(await readFile(path.join(dir, 's', 'two.txt'), 'utf8')).toBe('xyz');
  });

  it('replaces files atomically: a reader sees the old or the new content, never part of one', async () => {
    // Prepare
    const file = path.join(dir, 'atomic.bin');
    const versions = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(2 * 1024 * 1024));
    await store.put(file, versions[0] as string);
    const seen = new Set<string>();
    let writing = true;

    // Act
    const writer = (async () => {
      for (const version of versions.slice(1)) await store.put(file, version);
      writing = false;
    })();
    while (writing) {
      const content = await readFile(file, 'latin1');
      seen.add(
        `${content[0]}:${content.length}:${content === (content[0] as string).repeat(content.length)}`,
      );
    }
    await writer;

    // Assess
    for (const entry of seen) expect(entry).toMatch(/^[a-e]:2097152:true$/);
    expect(await readdir(dir)).toEqual(['atomic.bin']);
  });

  it('removes the temp file when a streamed put fails', async () => {
    // Prepare
    async function* broken() {
      yield new Uint8Array(10);
      throw new Error('source broke');
    }
    const file = path.join(dir, 'broken.bin');

    // Act
    const attempt = store.putStream(file, broken());

    // Assess
    await expect(attempt).rejects.toThrow('source broke');
    expect(await readdir(dir)).toEqual([]);
  });

  it('lists every file below a folder recursively, in S3 key order', async () => {
    // Prepare
    const names = [
      'b.csv',
      'a/z.jsonl',
      'a.csv',
      'a/b/c.csv',
      'B.csv',
      '😀.csv',
      'é.csv',
      'a-b.csv',
      'Ａ.csv',
    ];
    for (const name of names) {
      await store.put(path.join(dir, 'in', name), name);
    }
    await writeFile(path.join(dir, 'in', '.b.csv.tmp-0123456789ab'), 'half');

    // Act
    const listed = await listAll(store, path.join(dir, 'in'));

    // Assess
    // UTF-8 byte order, as S3 lists keys: '-' 2d < '.' 2e < '/' 2f < 'B' 42 < 'a' 61 < 'b' 62 < 'é' c3 < 'Ａ' ef < '😀' f0.
    // (UTF-16 order, JavaScript's default, would put the emoji before 'Ａ'.)
    expect(listed.map((uri) => path.relative(path.join(dir, 'in'), uri))).toEqual([
      'B.csv',
      'a-b.csv',
      'a.csv',
      'a/b/c.csv',
      'a/z.jsonl',
      'b.csv',
      'é.csv',
      'Ａ.csv',
      '😀.csv',
    ]);
  });

  it('lists a file prefix as that file and a missing prefix as nothing', async () => {
    // Prepare
    const file = path.join(dir, 'one.csv');
    await writeFile(file, 'x');

    // Act & Assess
    expect(await listAll(store, file)).toEqual([file]);
    expect(await listAll(store, path.join(dir, 'missing'))).toEqual([]);
  });

  it('deletes files, ignores missing ones, and drops folders they leave empty (as S3 prefixes vanish)', async () => {
    // Prepare
    await mkdir(path.join(dir, 'd'));
    await writeFile(path.join(dir, 'd', 'x'), 'x');

    // Act
    await store.delete([
      path.join(dir, 'd', 'x'),
      path.join(dir, 'd', 'missing'),
      path.join(dir, 'nope', 'y'),
    ]);

    // Assess
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps a folder that still holds other files after a delete', async () => {
    // Prepare
    await mkdir(path.join(dir, 'd'));
    await writeFile(path.join(dir, 'd', 'x'), 'x');
    await writeFile(path.join(dir, 'd', 'y'), 'y');

    // Act
    await store.delete([path.join(dir, 'd', 'x')]);

    // Assess
    expect(await readdir(path.join(dir, 'd'))).toEqual(['y']);
  });

  it('drops a folder whose last file is deleted though a killed writer left its temp file there', async () => {
    // Prepare: what kill -9 in the middle of an atomic write leaves beside the target
    await mkdir(path.join(dir, 'd'));
    await writeFile(path.join(dir, 'd', 'x'), 'x');
    await writeFile(path.join(dir, 'd', '.checkpoint.json.tmp-0123456789ab'), '{"half');

    // Act
    await store.delete([path.join(dir, 'd', 'x')]);

    // Assess
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps a folder that holds a file beside a temp file', async () => {
    await mkdir(path.join(dir, 'd'));
    await writeFile(path.join(dir, 'd', 'x'), 'x');
    await writeFile(path.join(dir, 'd', 'y'), 'y');
    await writeFile(path.join(dir, 'd', '.y.tmp-0123456789ab'), 'y2');
    await store.delete([path.join(dir, 'd', 'x')]);
    expect((await readdir(path.join(dir, 'd'))).sort()).toEqual(['.y.tmp-0123456789ab', 'y']);
  });
});
