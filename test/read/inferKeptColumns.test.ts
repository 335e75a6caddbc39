import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inferKeptColumns } from '../../lambda/read/inferKeptColumns.ts';
import { KeptTypeSample, keptTypeOf } from '../../lambda/read/KeptTypeSample.ts';
import { chunked, fixtureBytes } from '../helpers/readFixtures.ts';

const TYPED_FIELDS = ['price', 'qty', 'active', 'tags', 'zip', 'meta', 'mixed', 'note'];

function jsonl(objects: readonly unknown[]): Buffer {
  return Buffer.from(objects.map((object) => JSON.stringify(object)).join('\n'));
}

describe('Function: keptTypeOf', () => {
  it.each([
    [[], 'string'],
    [['number'], 'number'],
    [['boolean'], 'boolean'],
    [['array'], 'list'],
    [['string'], 'string'],
    [['object'], 'string'],
    [['number', 'string'], 'string'],
    [['number', 'boolean'], 'string'],
    [['array', 'object'], 'string'],
  ] as const)('types values of the kinds %j as %s', (kinds, type) => {
    // Prepare, Act, Assess
    expect(keptTypeOf(new Set(kinds))).toBe(type);
  });
});

describe('Class: KeptTypeSample', () => {
  it('counts neither absent nor null values, and walks dotted paths', () => {
    // Prepare
    const sample = new KeptTypeSample(['a', 'p.n', 'gone']);

    // Act
    sample.observe({ a: null, p: { n: 1 } });
    sample.observe({ p: { n: 2.5 }, gone: null });
    sample.observe({ a: true });

    // Assess
    expect([sample.typeOf('a'), sample.typeOf('p.n'), sample.typeOf('gone')]).toEqual([
      'boolean',
      'number',
      'string',
    ]);
    expect(sample.objects).toBe(3);
  });
});

describe('Function: inferKeptColumns', () => {
  it.each([1, 7, Number.POSITIVE_INFINITY])(
    'types typed-fields.jsonl as its first 100 records show it (chunks of %d bytes)',
    async (size) => {
      // Prepare
      const body = chunked(fixtureBytes('typed-fields.jsonl'), size);

      // Act
      const inferred = await inferKeptColumns(body, {
        source: 'typed-fields.jsonl',
        gzip: false,
        keepColumns: TYPED_FIELDS,
      });

      // Assess: records 101 on (a "cheap" price, a "yes", a "red" tag list) do not count.
      expect(inferred.keepColumns).toEqual([
        'price:number',
        'qty:number',
        'active:boolean',
        'tags:list',
        'zip',
        'meta',
        'mixed',
        'note',
      ]);
      expect(inferred.typed).toEqual([
        { name: 'price', type: 'number' },
        { name: 'qty', type: 'number' },
        { name: 'active', type: 'boolean' },
        { name: 'tags', type: 'list' },
      ]);
      expect(inferred.records).toBe(100);
    },
  );

  it('leaves declared types as they are: name:string keeps a number field as text', async () => {
    // Prepare
    const body = chunked(fixtureBytes('typed-fields.jsonl'));

    // Act
    const inferred = await inferKeptColumns(body, {
      source: 'typed-fields.jsonl',
      gzip: false,
      keepColumns: ['price:string', 'qty:integer', 'active'],
    });

    // Assess
    expect(inferred.keepColumns).toEqual(['price:string', 'qty:integer', 'active:boolean']);
  });

  it('reads gzip and UTF-16 (by its byte order mark) to the same types', async () => {
    // Prepare
    const bytes = fixtureBytes('typed-fields.jsonl');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bytes.toString('utf8'), 'utf16le')]);
    const options = { source: 'x.jsonl', keepColumns: TYPED_FIELDS };

    // Act
    const gzip = await inferKeptColumns(chunked(gzipSync(bytes), 64), { ...options, gzip: true });
    const unicode = await inferKeptColumns(chunked(utf16, 64), { ...options, gzip: false });

    // Assess
    const plain = await inferKeptColumns(chunked(bytes), { ...options, gzip: false });
    expect(gzip.keepColumns).toEqual(plain.keepColumns);
    expect(unicode.keepColumns).toEqual(plain.keepColumns);
    expect(plain.keepColumns.filter((spec) => spec.includes(':'))).toHaveLength(4);
  });

  it('passes over lines that are no JSON object, and decides after `records` objects', async () => {
    // Prepare: the third object would make `n` a mix, but only two are looked at.
    const body = Buffer.concat([
      Buffer.from('not json\n[1,2]\n\n   \n{"n": 1, "b": [1]\n'),
      jsonl([{ n: 1 }, { n: 2.5, b: [] }, { n: 'three' }]),
    ]);

    // Act
    const inferred = await inferKeptColumns(chunked(body), {
      source: 'x.jsonl',
      gzip: false,
      keepColumns: ['n', 'b'],
      records: 2,
    });

    // Assess
    expect(inferred).toMatchObject({ keepColumns: ['n:number', 'b:list'], records: 2 });
  });

  it('decides on the records before a break in a cut gzip stream (the reader reports the break)', async () => {
    // Prepare
    const whole = gzipSync(jsonl(Array.from({ length: 400 }, (_, i) => ({ n: i, pad: 'x'.repeat(200) }))));
    const cut = whole.subarray(0, Math.floor(whole.length / 3));

    // Act
    const inferred = await inferKeptColumns(chunked(cut, 100), {
      source: 'x.jsonl.gz',
      gzip: true,
      keepColumns: ['n'],
      records: 1_000,
    });

    // Assess
    expect(inferred.keepColumns).toEqual(['n:number']);
    expect(inferred.records).toBeGreaterThan(0);
    expect(inferred.records).toBeLessThan(400);
  });

  it('reads only the start of the body and then closes it', async () => {
    // Prepare
    let pulled = 0;
    let closed = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        for (let i = 0; i < 10_000; i++) {
          pulled++;
          yield Buffer.from(`{"n": ${i}}\n`);
        }
      } finally {
        closed = true;
      }
    }

    // Act
    const inferred = await inferKeptColumns(body(), { source: 'x.jsonl', gzip: false, keepColumns: ['n'] });

    // Assess
    expect(inferred.keepColumns).toEqual(['n:number']);
    expect(pulled).toBeLessThanOrEqual(101);
    expect(closed).toBe(true);
  });
});
