import { describe, expect, it } from 'vitest';
import { sniffCsvDelimiter } from '../../lambda/read/sniffCsvDelimiter.ts';

describe('Function: sniffCsvDelimiter', () => {
  it.each([
    ['a comma file', 'id,text\n1,hello\n', ','],
    ['an Excel semicolon file with decimal commas', 'name;price\nKettle;1,5\nPot;2,75\n', ';'],
    ['a tab file', 'id\ttext\n1\thello, world\n', '\t'],
    ['a pipe file', 'id|text\n1|a; b, c\n', '|'],
    ['a comma file whose quoted text holds semicolons', 'id,text\n1,"a;b;c"\n', ','],
    ['a header quoting its semicolons', '"a;b";c\n1;2\n', ';'],
    ['the most fields, when both split every row alike', 'a;b;c,d\n1;2;3,4\n', ';'],
    ['a consistent split over more header fields', 'a,b;c;d\n1,2\n3,4\n', ','],
    ['one column', 'text\nhello; world\n', ','],
    ['a header only', 'id;text', ';'],
    ['nothing', '', ','],
    ['blank lines before the header', '\n  \nid;text\n1;x\n', ';'],
  ])('reads %s as %j', (_, file, delimiter) => {
    // Prepare, Act, Assess
    expect(sniffCsvDelimiter(Buffer.from(file), true)).toBe(delimiter);
  });

  it('counts a header cut off by the end of the sample, and ignores a cut-off data row', () => {
    // Prepare, Act, Assess
    expect(sniffCsvDelimiter(Buffer.from('id;text;categ'), false)).toBe(';');
    expect(sniffCsvDelimiter(Buffer.from('id;text\n1;a\n2;b;c;d'), false)).toBe(';');
  });
});
