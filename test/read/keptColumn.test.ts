import { describe, expect, it } from 'vitest';
import { convertKept, keptColumnNames, parseKeptColumn } from '../../lambda/read/keptColumn.ts';

describe('Function: parseKeptColumn', () => {
  it.each([
    ['category', { name: 'category', type: 'string' }],
    ['price:number', { name: 'price', type: 'number' }],
    ['qty:INTEGER', { name: 'qty', type: 'integer' }],
    ['product.tags:list', { name: 'product.tags', type: 'list' }],
    ['time:utc', { name: 'time:utc', type: 'string' }],
    ['a:b:boolean', { name: 'a:b', type: 'boolean' }],
  ])('reads %j', (spec, column) => {
    // Prepare, Act, Assess
    expect(parseKeptColumn(spec)).toEqual(column);
  });

  it('gives the output column names', () => {
    // Prepare, Act, Assess
    expect(keptColumnNames(['a', 'b:number', 'c:d'])).toEqual(['a', 'b', 'c:d']);
  });
});

describe('Function: convertKept', () => {
  it.each([
    ['string', 7, { value: '7' }],
    ['string', undefined, { value: '' }],
    ['number', ' 12.5 ', { value: 12.5 }],
    ['number', '', { value: null }],
    ['number', '1,5', { problem: 'expected a number, got "1,5"' }],
    ['integer', '-42', { value: -42n }],
    [
      'integer',
      '9223372036854775808',
      { problem: 'expected an integer (64 bits), got "9223372036854775808"' },
    ],
    ['boolean', 'TRUE', { value: true }],
    ['boolean', '0', { value: false }],
    ['boolean', 'ja', { problem: 'expected true or false, got "ja"' }],
    ['list', '["a", 2, null]', { value: ['a', '2', 'null'] }],
    ['list', null, { value: null }],
    ['list', 'a,b', { problem: 'expected a JSON array, got "a,b"' }],
  ] as const)('converts %s %j', (type, value, converted) => {
    // Prepare, Act, Assess
    expect(convertKept(value, type)).toEqual(converted);
  });
});
