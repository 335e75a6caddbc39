import { describe, expect, it } from 'vitest';
import { decodeEmbeddings, float32FromLittleEndian } from '../../lambda/embed/decodeEmbeddings.ts';
import { InvalidResponseError } from '../../lambda/errors.ts';

function base64Of(values: readonly number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}

function body(data: unknown[], usage: unknown = { prompt_tokens: 3, total_tokens: 3 }): unknown {
  return { object: 'list', data, model: 'm', usage };
}

describe('Function: decodeEmbeddings', () => {
  it('decodes float arrays in index order', () => {
    // Prepare
    const answer = body([
      { index: 0, embedding: [1, 2] },
      { index: 1, embedding: [3, 4] },
    ]);

    // Act
    const decoded = decodeEmbeddings(answer, { count: 2 });

    // Assess
    expect(decoded.vectors.map((vector) => [...vector])).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(decoded.vectors[0]).toBeInstanceOf(Float32Array);
    expect(decoded.usage).toEqual({ promptTokens: 3, totalTokens: 3 });
    expect(decoded.model).toBe('m');
  });

  it('puts vectors back in input order when the server answers in reverse order', () => {
    // Prepare
    const answer = body([
      { index: 2, embedding: [3] },
      { index: 1, embedding: [2] },
      { index: 0, embedding: [1] },
    ]);

    // Act
    const decoded = decodeEmbeddings(answer, { count: 3 });

    // Assess
    expect(decoded.vectors.map((vector) => vector[0])).toEqual([1, 2, 3]);
  });

  it('decodes base64 little-endian float32 exactly', () => {
    // Prepare
    const values = [0.1, -0.25, 3.5e-8, 1];
    const answer = body([{ index: 0, embedding: base64Of(values) }]);

    // Act
    const decoded = decodeEmbeddings(answer, { count: 1 });

    // Assess
    expect(decoded.vectors[0]).toEqual(new Float32Array(values));
  });

  it('decodes several base64 vectors into aligned float32 arrays', () => {
    // Prepare
    const values = [0.5, -0.75, 0.125];
    const answer = body([
      { index: 0, embedding: base64Of(values) },
      { index: 1, embedding: base64Of(values) },
    ]);

    // Act
    const decoded = decodeEmbeddings(answer, { count: 2 });

    // Assess
    expect(decoded.vectors[0]).toEqual(new Float32Array(values));
    expect(decoded.vectors[1]).toEqual(new Float32Array(values));
    expect((decoded.vectors[1]?.byteOffset ?? 1) % 4).toBe(0);
  });

  it('accepts a mix of float arrays and base64 in one answer', () => {
    // Prepare
    const answer = body([
      { index: 1, embedding: base64Of([0.5, 0.5]) },
      { index: 0, embedding: [0.25, 0.75] },
    ]);

    // Act
    const decoded = decodeEmbeddings(answer, { count: 2 });

    // Assess
    expect([...(decoded.vectors[0] ?? [])]).toEqual([0.25, 0.75]);
    expect([...(decoded.vectors[1] ?? [])]).toEqual([0.5, 0.5]);
  });

  it('falls back to array position when index is missing', () => {
    // Prepare
    const answer = body([{ embedding: [1] }, { embedding: [2] }]);

    // Act
    const decoded = decodeEmbeddings(answer, { count: 2 });

    // Assess
    expect(decoded.vectors.map((vector) => vector[0])).toEqual([1, 2]);
  });

  it('leaves usage undefined when the server sends none', () => {
    // Prepare
    const answer = { data: [{ index: 0, embedding: [1] }] };

    // Act
    const decoded = decodeEmbeddings(answer, { count: 1 });

    // Assess
    expect(decoded.usage).toBeUndefined();
  });

  it('takes total_tokens for prompt_tokens when only the total is given', () => {
    // Prepare
    const answer = body([{ index: 0, embedding: [1] }], { total_tokens: 7 });

    // Act
    const decoded = decodeEmbeddings(answer, { count: 1 });

    // Assess
    expect(decoded.usage).toEqual({ promptTokens: 7, totalTokens: 7 });
  });

  it.each([
    ['fewer vectors than inputs', body([{ index: 0, embedding: [1] }]), 2, /expected 2 embeddings.*got 1/],
    [
      'more vectors than inputs',
      body([
        { index: 0, embedding: [1] },
        { index: 1, embedding: [1] },
      ]),
      1,
      /expected 1 embeddings.*got 2/,
    ],
    [
      'a duplicated index',
      body([
        { index: 0, embedding: [1] },
        { index: 0, embedding: [2] },
      ]),
      2,
      /index 0 appears more than once/,
    ],
    [
      'an index out of range',
      body([
        { index: 0, embedding: [1] },
        { index: 2, embedding: [2] },
      ]),
      2,
      /outside 0\.\.1/,
    ],
    ['a fractional index', body([{ index: 0.5, embedding: [1] }]), 1, /index is 0\.5/],
    [
      'vectors of different dimensions',
      body([
        { index: 0, embedding: [1, 2] },
        { index: 1, embedding: [1] },
      ]),
      2,
      /has 1 dimensions, the earlier vectors of this response have 2/,
    ],
    [
      'a null value (NaN serialised by a broken server)',
      body([{ index: 0, embedding: [null, 1] }]),
      1,
      /null/,
    ],
    ['a string value', body([{ index: 0, embedding: ['1'] }]), 1, /is string, not a number/],
    ['NaN in base64', body([{ index: 0, embedding: base64Of([Number.NaN, 1]) }]), 1, /NaN, not a finite/],
    [
      'Infinity in base64',
      body([{ index: 0, embedding: base64Of([1, Number.POSITIVE_INFINITY]) }]),
      1,
      /Infinity/,
    ],
    ['a float64 too large for float32', body([{ index: 0, embedding: [1e300] }]), 1, /Infinity/],
    [
      'base64 that is not whole float32s',
      body([{ index: 0, embedding: Buffer.from([1, 2, 3]).toString('base64') }]),
      1,
      /3 bytes/,
    ],
    ['an empty vector', body([{ index: 0, embedding: [] }]), 1, /empty/],
    ['a missing embedding', body([{ index: 0 }]), 1, /neither a number array nor a base64 string/],
    ['a body without data', { error: { message: 'boom' } }, 1, /no `data` array.*boom/],
    ['a body that is not an object', [1, 2], 1, /not a JSON object/],
    ['null', null, 1, /not a JSON object/],
  ])('refuses %s with an InvalidResponseError', (_name, answer, count, message) => {
    // Act
    const act = () => decodeEmbeddings(answer, { count });

    // Assess
    expect(act).toThrow(InvalidResponseError);
    expect(act).toThrow(message);
  });

  it('refuses vectors of another dimension than expected', () => {
    // Prepare
    const answer = body([{ index: 0, embedding: [1, 2, 3] }]);

    // Act
    const act = () => decodeEmbeddings(answer, { count: 1, dimensions: 4 });

    // Assess
    expect(act).toThrow(/has 3 dimensions, expected 4/);
  });

  it('marks its errors as retryable', () => {
    // Act
    let caught: unknown;
    try {
      decodeEmbeddings(body([]), { count: 1 });
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(InvalidResponseError);
    expect((caught as InvalidResponseError).retryable).toBe(true);
  });
});

describe('Function: float32FromLittleEndian', () => {
  it('views aligned bytes without copying', () => {
    // Prepare
    const source = new Float32Array([1.5, -2]);
    const bytes = new Uint8Array(source.buffer);

    // Act
    const vector = float32FromLittleEndian(bytes);

    // Assess
    expect(vector).toEqual(source);
    expect(vector.buffer).toBe(source.buffer);
  });

  it('copies unaligned bytes into an aligned vector with the same values', () => {
    // Prepare: the floats start at byte 1 of the buffer.
    const values = new Float32Array([0.1, -0.2, 3]);
    const backing = new Uint8Array(values.byteLength + 1);
    backing.set(new Uint8Array(values.buffer), 1);
    const unaligned = backing.subarray(1);

    // Act
    const vector = float32FromLittleEndian(unaligned);

    // Assess
    expect(vector).toEqual(values);
    expect(vector.byteOffset % 4).toBe(0);
    expect(vector.buffer).not.toBe(backing.buffer);
  });
});
