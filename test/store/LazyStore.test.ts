import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore } from '../../lambda/commands/createStore.ts';
import { ConfigError } from '../../lambda/errors.ts';
import { LazyStore } from '../../lambda/store/LazyStore.ts';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import { useTempDir } from '../helpers/embeddedRows.ts';

describe('Class: LazyStore', () => {
  let dir: string;
  useTempDir((made) => {
    dir = made;
  });

  it('builds the real store at the first call, once, and hands every call to it', async () => {
    // Prepare
    let loads = 0;
    const store = new LazyStore(async () => {
      loads++;
      return new LocalStore();
    });
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'sub', 'b.txt');
    const loadedBefore = store.loaded;

    // Act: concurrent first calls, then each kind of call.
    await Promise.all([store.put(a, 'alpha'), store.head(a), store.getText(a)]);
    await store.copy(a, b);
    await store.rename(b, `${b}.moved`);
    const listed: string[] = [];
    for await (const info of store.list(dir)) listed.push(path.relative(dir, info.uri));
    const text = await store.getText(`${b}.moved`);
    const absent = await store.putIfAbsent(a, 'again');
    await store.delete([a]);

    // Assess
    expect(loadedBefore).toBe(false);
    expect(store.loaded).toBe(true);
    expect(loads).toBe(1);
    expect(listed.sort()).toEqual(['a.txt', path.join('sub', 'b.txt.moved')]);
    expect(text).toBe('alpha');
    expect(absent).toBe(false);
    expect(await store.head(a)).toBeUndefined();
  });

  it('rejects every call with the loader error, and loads no more than once', async () => {
    // Prepare
    let loads = 0;
    const store = new LazyStore(async () => {
      loads++;
      throw new ConfigError('no S3 here');
    });

    // Act & Assess
    await expect(store.head('s3://b/k')).rejects.toThrow('no S3 here');
    await expect(store.put('s3://b/k', 'x')).rejects.toThrow(ConfigError);
    const iterator = store.list('s3://b/')[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow('no S3 here');
    expect(loads).toBe(1);
  });
});

describe('Function: createStore', () => {
  let dir: string;
  useTempDir((made) => {
    dir = made;
  });

  it('serves local paths without building S3, and reports a bad S3 setting at the first s3:// call', async () => {
    // Prepare
    const store = createStore({ S3_FORCE_PATH_STYLE: 'yes' });
    const file = path.join(dir, 'x.txt');

    // Act
    await store.put(file, 'local');
    const text = await store.getText(file);

    // Assess
    expect(text).toBe('local');
    await expect(store.head('s3://bucket/key')).rejects.toThrow(
      new ConfigError('Expected `S3_FORCE_PATH_STYLE` to be true or false, got "yes"'),
    );
  });
});
