import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import {
  DEFAULT_MAX_RECORD_BYTES,
  type ReaderOptions,
  resolveReaderOptions,
} from '../../lambda/read/resolveReaderOptions.ts';

const base: ReaderOptions = { source: 'a.csv', format: 'csv', gzip: false };

describe('Function: resolveReaderOptions', () => {
  it('applies the defaults', () => {
    // Prepare, Act
    const resolved = resolveReaderOptions(base);

    // Assess
    expect(resolved).toEqual({
      source: 'a.csv',
      format: 'csv',
      gzip: false,
      textColumn: 'text',
      idColumn: 'id',
      requireIdColumn: false,
      keepColumns: [],
      kept: [],
      delimiter: undefined,
      encoding: undefined,
      onNotice: expect.any(Function),
      maxRecordBytes: DEFAULT_MAX_RECORD_BYTES,
      csvHeader: undefined,
      recordOffset: 0,
      lineOffset: 0,
    });
    expect(DEFAULT_MAX_RECORD_BYTES).toBe(1_048_576);
  });

  it.each([
    [{ maxRecordBytes: 0 }, 'Expected `maxRecordBytes` to be a positive integer, got 0'],
    [{ maxRecordBytes: 1.5 }, 'Expected `maxRecordBytes` to be a positive integer, got 1.5'],
    [{ maxRecordBytes: Number.NaN }, 'Expected `maxRecordBytes` to be a positive integer, got NaN'],
    [{ recordOffset: -1 }, 'Expected `recordOffset` to be a non-negative integer, got -1'],
    [{ lineOffset: '3' }, 'Expected `lineOffset` to be a non-negative integer, got "3"'],
    [{ source: '' }, 'Expected `source` to be a non-empty string, got ""'],
    [{ textColumn: '' }, 'Expected `textColumn` to be a non-empty string, got ""'],
    [{ idColumn: 7 }, 'Expected `idColumn` to be a non-empty string, got 7'],
    [{ keepColumns: 'a,b' }, 'Expected `keepColumns` to be an array of non-empty strings, got "a,b"'],
    [{ keepColumns: ['a', ''] }, 'Expected `keepColumns` to be an array of non-empty strings, got ["a",""]'],
    [{ format: 'json' }, 'Expected `format` to be "csv" or "jsonl", got "json"'],
    [{ gzip: 'no' }, 'Expected `gzip` to be a boolean, got "no"'],
    [{ delimiter: ':' }, 'Expected `delimiter` to be one of ",", ";", "\\t", "|", got ":"'],
    [
      { encoding: 'utf-32' },
      'Expected `encoding` to be one of utf-8, utf-16le, utf-16be, windows-1252, latin1, got "utf-32"',
    ],
    [{ csvHeader: [] }, 'Expected `csvHeader` to be a non-empty array of strings, got []'],
    [
      { format: 'jsonl', csvHeader: ['text'] },
      'Expected `csvHeader` only with format "csv", got format "jsonl"',
    ],
  ])('refuses %j with a message naming the option', (override, message) => {
    // Prepare
    const options = { ...base, ...override } as unknown as ReaderOptions;

    // Act
    const act = () => resolveReaderOptions(options);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(message);
  });

  it('accepts empty names in csvHeader, as spreadsheets write them', () => {
    // Prepare, Act
    const resolved = resolveReaderOptions({ ...base, csvHeader: ['', 'text'] });

    // Assess
    expect(resolved.csvHeader).toEqual(['', 'text']);
  });
});
