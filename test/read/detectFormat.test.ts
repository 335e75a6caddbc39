import { describe, expect, it } from 'vitest';
import { InputError } from '../../lambda/errors.ts';
import { detectFormat, isSupportedInput } from '../../lambda/read/detectFormat.ts';

describe('Function: detectFormat', () => {
  it.each([
    ['products.csv', 'csv', false],
    ['s3://bucket/input/products.csv.gz', 'csv', true],
    ['events.jsonl', 'jsonl', false],
    ['events.jsonl.gz', 'jsonl', true],
    ['logs/events.ndjson', 'jsonl', false],
    ['logs/events.ndjson.gz', 'jsonl', true],
    ['EXPORT.CSV', 'csv', false],
    ['Export.Csv.GZ', 'csv', true],
  ])('reads %s as %s (gzip: %s)', (uri, format, gzip) => {
    // Prepare, Act
    const detected = detectFormat(uri);

    // Assess
    expect(detected).toEqual({ format, gzip });
  });

  it.each([
    ['tab-separated.tsv', false],
    ['s3://bucket/input/export.TSV.gz', true],
  ])('reads %s as CSV separated by tabs (gzip: %s)', (uri, gzip) => {
    // Prepare, Act
    const detected = detectFormat(uri);

    // Assess
    expect(detected).toEqual({ format: 'csv', gzip, delimiter: '\t' });
    expect(isSupportedInput(uri)).toBe(true);
  });

  it.each([
    'products.xlsx',
    'products.csv.zip',
    'archive.gz',
    'products',
    'products.csv.bak',
    'products.json',
  ])('refuses %s with a message naming the file and the supported suffixes', (uri) => {
    // Prepare, Act
    const act = () => detectFormat(uri);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(`${uri}: unsupported input file`);
    expect(act).toThrow('.csv, .tsv, .jsonl or .ndjson, optionally followed by .gz');
  });
});

describe('Function: isSupportedInput', () => {
  it('tells supported names from others without throwing', () => {
    // Prepare
    const names = ['a.csv', 'b.jsonl.gz', 'c.NDJSON', 'd.parquet', 'e.gz', 'f/'];

    // Act
    const supported = names.map(isSupportedInput);

    // Assess
    expect(supported).toEqual([true, true, true, false, false, false]);
  });
});
