import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../lambda/store/LocalStore.ts';
import type { RejectedRecord } from '../../lambda/types.ts';
import { ErrorsWriter, errorLine } from '../../lambda/write/ErrorsWriter.ts';
import { tempDir } from '../helpers/embeddedRows.ts';
import { RecordingLocalStore } from '../helpers/RecordingLocalStore.ts';

function rejected(n: number): RejectedRecord {
  return { record: n, line: n + 1, id: `id-${n}`, reason: `record ${n}: empty text` };
}

describe('Class: ErrorsWriter', () => {
  let dir: string;
  let spillDir: string;
  let removeDirs: (() => Promise<void>)[];

  beforeEach(async () => {
    const out = await tempDir();
    const spill = await tempDir('embed-batch-spill-');
    dir = out.dir;
    spillDir = spill.dir;
    removeDirs = [out.remove, spill.remove];
  });

  afterEach(async () => {
    for (const remove of removeDirs) await remove();
  });

  it('writes one JSON line per rejected record, with absent keys left out', async () => {
    // Prepare
    const uri = path.join(dir, 'errors.jsonl');
    const errors = new ErrorsWriter(new LocalStore(), uri);

    // Act
    await errors.add({ record: 1, line: 2, id: 'a', reason: 'empty text' });
    await errors.add({ record: 2, reason: 'not an object' });
    const file = await errors.finish();

    // Assess
    const text = await readFile(uri, 'utf8');
    expect(text).toBe(
      '{"record":1,"line":2,"id":"a","reason":"empty text"}\n{"record":2,"reason":"not an object"}\n',
    );
    expect(file).toEqual({ uri, rows: 2, bytes: Buffer.byteLength(text) });
  });

  it('writes an empty file when nothing was rejected', async () => {
    // Prepare
    const uri = path.join(dir, 'errors.jsonl');

    // Act
    const file = await new ErrorsWriter(new LocalStore(), uri).finish();

    // Assess
    expect(file).toEqual({ uri, rows: 0, bytes: 0 });
    expect(await readFile(uri, 'utf8')).toBe('');
  });

  it('writes segments to the store past spillChars and joins them in order, leaving them for the scratch cleanup', async () => {
    // Prepare
    const uri = path.join(dir, 'errors.jsonl');
    const store = new LocalStore();
    const recording = new RecordingLocalStore();
    const errors = new ErrorsWriter(recording, uri, { spillChars: 1_000 });
    const records = Array.from({ length: 500 }, (_, i) => rejected(i + 1));

    // Act
    for (const record of records) await errors.add(record);
    const segments = (await readdir(dir)).filter((name) => name.includes('.seg-'));
    const file = await errors.finish();

    // Assess
    expect(segments.length).toBeGreaterThan(1);
    const others = recording.calls.filter((call) => !call.startsWith('put errors.jsonl.seg-'));
    expect(others).toEqual(['putStream errors.jsonl']);
    const lines = (await store.getText(uri))?.split('\n').filter(Boolean) ?? [];
    expect(lines.map((line) => JSON.parse(line))).toEqual(records);
    expect(file.rows).toBe(500);
    expect(file.bytes).toBe(records.map(errorLine).join('').length);
    expect((await readdir(dir)).filter((name) => !name.includes('.seg-'))).toEqual(['errors.jsonl']);
  });

  it('goes on after the segments of an earlier attempt, which a flush hands out for a checkpoint', async () => {
    // Prepare: an attempt that flushed two records, then died
    const uri = path.join(dir, 'errors.jsonl');
    const store = new LocalStore();
    const first = new ErrorsWriter(store, uri);
    await first.addMany([rejected(1), rejected(2)]);
    const earlier = await first.flush();

    // Act
    const resumed = new ErrorsWriter(store, uri, { earlier });
    await resumed.add(rejected(3));
    const file = await resumed.finish();

    // Assess
    expect(earlier.rows).toBe(2);
    expect(file.rows).toBe(3);
    const lines = (await store.getText(uri))?.split('\n').filter(Boolean) ?? [];
    expect(lines.map((line) => JSON.parse(line))).toEqual([rejected(1), rejected(2), rejected(3)]);
  });

  it('keeps the segments written (a checkpoint may list them) and writes no file when aborted', async () => {
    // Prepare
    const uri = path.join(dir, 'errors.jsonl');
    const errors = new ErrorsWriter(new LocalStore(), uri, { spillChars: 10 });
    await errors.addMany([rejected(1), rejected(2)]);

    // Act
    await errors.abort();

    // Assess
    expect(await readdir(spillDir)).toEqual([]);
    expect(await readdir(dir)).toEqual(['errors.jsonl.seg-00000']);
    await expect(errors.add(rejected(3))).rejects.toThrow('after finish()');
  });
});
