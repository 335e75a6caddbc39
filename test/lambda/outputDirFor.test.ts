import { describe, expect, it } from 'vitest';
import { outputDirFor } from '../../lambda/aws/outputDirFor.ts';

const layout = { inputPrefix: 'input/', outputPrefix: 'output/' };

describe('Function: outputDirFor', () => {
  it.each([
    ['input/a/b/x.csv', 's3://bkt/output/a/b/x.csv/'],
    ['input/x.jsonl', 's3://bkt/output/x.jsonl/'],
    ['input/y.ndjson.gz', 's3://bkt/output/y.ndjson.gz/'],
    ['input/z.CSV.GZ', 's3://bkt/output/z.CSV.GZ/'],
    ['input/my file+ü.csv', 's3://bkt/output/my file+ü.csv/'],
    ['input/v1.2/data.csv', 's3://bkt/output/v1.2/data.csv/'],
  ])('maps %s to %s', (key, dir) => {
    // Act & Assess
    expect(outputDirFor('bkt', key, layout)).toEqual({ outputDir: dir });
  });

  it.each([
    ['output/a/x.csv', 'under OUTPUT_PREFIX output/'],
    ['other/x.csv', 'outside INPUT_PREFIX input/'],
    ['inputs/x.csv', 'outside INPUT_PREFIX input/'],
    ['input/x.txt', 'not a .csv, .jsonl or .ndjson file (or .gz of one)'],
    ['input/x.gz', 'not a .csv, .jsonl or .ndjson file (or .gz of one)'],
    ['input/a/.csv', 'the file name is only a suffix'],
  ])('skips %s (%s)', (key, reason) => {
    // Act & Assess
    expect(outputDirFor('bkt', key, layout)).toEqual({ skip: reason });
  });

  it.each(['input/x.tsv', 'input/a/x.TSV.gz'])('takes %s as input (tab-separated CSV)', (key) => {
    // Act
    const target = outputDirFor('bkt', key, layout);

    // Assess: the folder's name is the output-naming rule's business; that it is input is this one's.
    expect(target.skip).toBeUndefined();
    expect(target.outputDir).toMatch(/^s3:\/\/bkt\/output\//);
  });

  it('with the whole bucket as input, still never takes keys under the output prefix', () => {
    // Prepare
    const whole = { inputPrefix: '', outputPrefix: 'vectors/' };

    // Act & Assess
    expect(outputDirFor('b', 'data/x.csv', whole)).toEqual({ outputDir: 's3://b/vectors/data/x.csv/' });
    expect(outputDirFor('b', 'vectors/data/x/part.csv', whole)).toEqual({
      skip: 'under OUTPUT_PREFIX vectors/',
    });
  });
});
