import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambda/errors.ts';
import { basenameUri, dirnameUri, isS3Uri, joinUri, parseS3Uri } from '../../lambda/store/uri.ts';

describe('Function: isS3Uri', () => {
  it('tells S3 URIs from local paths', () => {
    // Act & Assess
    expect(isS3Uri('s3://bucket/key')).toBe(true);
    expect(isS3Uri('S3://bucket/key')).toBe(true);
    expect(isS3Uri('/data/s3://x')).toBe(false);
    expect(isS3Uri('s3.csv')).toBe(false);
    expect(isS3Uri('file:///tmp/x')).toBe(false);
  });
});

describe('Function: parseS3Uri', () => {
  it('splits bucket and key, keeping the key verbatim', () => {
    // Act & Assess
    expect(parseS3Uri('s3://b/input/x y%20z.csv')).toEqual({ bucket: 'b', key: 'input/x y%20z.csv' });
    expect(parseS3Uri('s3://b/prefix/')).toEqual({ bucket: 'b', key: 'prefix/' });
    expect(parseS3Uri('s3://b')).toEqual({ bucket: 'b', key: '' });
    expect(parseS3Uri('s3://b/')).toEqual({ bucket: 'b', key: '' });
  });

  it('throws a ConfigError naming the uri when it is not a usable S3 URI', () => {
    // Act & Assess
    expect(() => parseS3Uri('/local/file.csv')).toThrow(ConfigError);
    expect(() => parseS3Uri('/local/file.csv')).toThrow('"/local/file.csv"');
    expect(() => parseS3Uri('s3:///key')).toThrow(new ConfigError('S3 URI "s3:///key" has no bucket name'));
  });
});

describe('Function: joinUri', () => {
  it('joins S3 keys with single slashes, without normalising', () => {
    // Act & Assess
    expect(joinUri('s3://b/out/', 'x/y', 'part-00000.parquet')).toBe('s3://b/out/x/y/part-00000.parquet');
    expect(joinUri('s3://b/out', '/x/', 'm.json')).toBe('s3://b/out/x/m.json');
    expect(joinUri('s3://b', 'k')).toBe('s3://b/k');
    expect(joinUri('s3://b/out', '../k')).toBe('s3://b/out/../k');
    expect(joinUri('s3://b/out', 'dir/')).toBe('s3://b/out/dir/');
    expect(joinUri('s3://b/out', '/')).toBe('s3://b/out/');
    expect(joinUri('s3://b/out/')).toBe('s3://b/out/');
  });

  it('joins local paths with the platform rules', () => {
    // Act & Assess
    expect(joinUri('out/', 'x/y', 'manifest.json')).toBe(path.join('out', 'x', 'y', 'manifest.json'));
    expect(joinUri('/tmp/out', '', 'a')).toBe(path.join('/tmp/out', 'a'));
  });
});

describe('Function: dirnameUri', () => {
  it('gives the folder of an S3 object as a prefix ending in a slash', () => {
    // Act & Assess
    expect(dirnameUri('s3://b/out/x/part-00000.parquet')).toBe('s3://b/out/x/');
    expect(dirnameUri('s3://b/out/x/')).toBe('s3://b/out/');
    expect(dirnameUri('s3://b/key')).toBe('s3://b/');
    expect(dirnameUri('s3://b')).toBe('s3://b/');
  });

  it('gives the folder of a local path', () => {
    // Act & Assess
    expect(dirnameUri('/tmp/out/manifest.json')).toBe('/tmp/out');
  });
});

describe('Function: basenameUri', () => {
  it('gives the last segment', () => {
    // Act & Assess
    expect(basenameUri('s3://b/out/part-00001.arrow')).toBe('part-00001.arrow');
    expect(basenameUri('s3://b/out/dir/')).toBe('dir');
    expect(basenameUri('/tmp/out/errors.jsonl')).toBe('errors.jsonl');
  });
});
