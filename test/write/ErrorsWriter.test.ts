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

  it('spills to a temp file past spillChars, streams it out and removes it', async () => {
    // Prepare
    const uri = path.join(dir, 'errors.jsonl');
    const store = new LocalStore();
    const recording = new RecordingLocalStore();
    const errors = new ErrorsWriter(recording, uri, { spillChars: 1_000, tempDir: spillDir });
    const records = Array.from({ length: 500 }, (_, i) => rejected(i + 1));

    // Act
    for (const record of records) await errors.add(record);
    const spilled = await readdir(spillDir);
    const file = await errors.finish();

    // Assess
    expect(spilled).toHaveLength(1);
    expect(recording.calls).toEqual(['putStream errors.jsonl']);
    const lines = (await store.getText(uri))?.split('\n').filter(Boolean) ?? [];
    expect(lines.map((line) => JSON.parse(line))).toEqual(records);
    expect(file.rows).toBe(500);
    expect(file.bytes).toBe(records.map(errorLine).join('').length);
    expect(await readdir(spillDir)).toEqual([]);
  });

  it('removes its temp file and writes nothing when aborted', async () => {
    // Prepare
    const uri = path.join(dir, 'errors.jsonl');
    const errors = new ErrorsWriter(new LocalStore(), uri, { spillChars: 10, tempDir: spillDir });
    await errors.addMany([rejected(1), rejected(2)]);

    // Act
    await errors.abort();

    // Assess
    expect(await readdir(spillDir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
    await expect(errors.add(rejected(3))).rejects.toThrow('after finish()');
  });
});
