import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import {
  exceedsMaxRejected,
  parseDelimiter,
  parseEncoding,
  parseMaxRejected,
  resolveJobOptions,
} from '../../lambda/resolveJobOptions.ts';

describe('Function: resolveJobOptions (reader flags)', () => {
  it('leaves the delimiter, encoding and rejection limit unset by default', () => {
    // Prepare, Act
    const options = resolveJobOptions({ model: 'local/feature-hash' });

    // Assess
    expect(options).toMatchObject({ requireIdColumn: false });
    expect(options.delimiter).toBeUndefined();
    expect(options.encoding).toBeUndefined();
    expect(options.maxRejected).toBeUndefined();
  });

  it.each([
    [',', ','],
    [';', ';'],
    ['|', '|'],
    ['\t', '\t'],
    ['tab', '\t'],
    ['TAB', '\t'],
    ['\\t', '\t'],
    ['semicolon', ';'],
    ['comma', ','],
    ['pipe', '|'],
  ])('takes --delimiter %j as %j', (value, delimiter) => {
    // Prepare, Act, Assess
    expect(parseDelimiter(value)).toBe(delimiter);
  });

  it.each([
    ['utf-8', 'utf-8'],
    ['UTF8', 'utf-8'],
    ['utf-16le', 'utf-16le'],
    ['utf16be', 'utf-16be'],
    ['Windows-1252', 'windows-1252'],
    ['cp1252', 'windows-1252'],
    ['latin1', 'latin1'],
    ['ISO-8859-1', 'latin1'],
  ])('takes --encoding %j as %j', (value, encoding) => {
    // Prepare, Act, Assess
    expect(parseEncoding(value)).toBe(encoding);
  });

  it.each([
    ['0', { count: 0 }],
    ['25', { count: 25 }],
    ['5%', { percent: 5 }],
    ['0.5%', { percent: 0.5 }],
    ['100%', { percent: 100 }],
  ])('takes --max-rejected %j', (value, limit) => {
    // Prepare, Act, Assess
    expect(parseMaxRejected(value)).toEqual(limit);
  });

  it.each(['-1', '1.5', 'ten', '101%', '%', ''])('refuses --max-rejected %j naming the flag', (value) => {
    // Prepare, Act
    const act = () => resolveJobOptions({ model: 'm', maxRejected: value });

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow('Expected `--max-rejected` to be a number of records');
  });

  it.each([
    [{ count: 2 }, { read: 10, rejected: 2 }, undefined],
    [{ count: 2 }, { read: 10, rejected: 3 }, '3 of 10 records rejected, over --max-rejected 2'],
    [{ percent: 10 }, { read: 10, rejected: 1 }, undefined],
    [{ percent: 10 }, { read: 9, rejected: 1 }, '1 of 9 records rejected (11.1%), over --max-rejected 10%'],
    [{ count: 0 }, { read: 0, rejected: 0 }, undefined],
    [undefined, { read: 5, rejected: 5 }, undefined],
  ])('with limit %j and rows %j says %j', (limit, rows, message) => {
    // Prepare, Act, Assess
    expect(exceedsMaxRejected(limit, rows)).toBe(message);
  });
});
