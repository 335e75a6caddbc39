import path from 'node:path';
import { ConfigError } from '../errors.ts';

/** An S3 location split into its parts. `key` is '' for the bucket root. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

const S3_SCHEME = 's3://';

/** Whether `uri` names an S3 object or prefix (`s3://bucket/key`). */
export function isS3Uri(uri: string): boolean {
  // S3 URIs are written lower-case by every AWS tool; accepting `S3://` too costs nothing.
  return uri.slice(0, S3_SCHEME.length).toLowerCase() === S3_SCHEME;
}

/**
 * Splits `s3://bucket/key` into bucket and key. The key is taken verbatim (no
 * percent-decoding), as the AWS CLI does, so keys with spaces or `%` survive.
 *
 * @throws ConfigError when `uri` is not an S3 URI or has no bucket.
 */
export function parseS3Uri(uri: string): S3Location {
  if (!isS3Uri(uri)) {
    throw new ConfigError(`Expected an S3 URI like s3://bucket/key, got ${JSON.stringify(uri)}`);
  }
  const rest = uri.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : rest.slice(slash + 1);
  if (bucket === '') {
    throw new ConfigError(`S3 URI ${JSON.stringify(uri)} has no bucket name`);
  }
  return { bucket, key };
}

/** Whether `uri` has a URL scheme (`s3://`, `file://`, ...) rather than being a plain path. */
function hasScheme(uri: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri);
}

/**
 * Joins path segments onto a base that is either an S3 URI or a local path.
 *
 * S3 keys are joined with `/` and never normalised (`..` is a legal key
 * segment there); local paths go through `path.join`. Empty segments are
 * skipped; a trailing `/` on the last segment is kept, because on S3 it marks a
 * prefix rather than an object.
 */
export function joinUri(base: string, ...parts: readonly string[]): string {
  const segments = parts.filter((part) => part !== '');
  if (segments.length === 0) return base;
  if (!hasScheme(base)) return path.join(base, ...segments);

  const last = segments[segments.length - 1] ?? '';
  const trimmed = segments.map((part) => part.replace(/^\/+|\/+$/g, '')).filter((part) => part !== '');
  const joined = [base.replace(/\/+$/, ''), ...trimmed].join('/');
  return last.endsWith('/') ? `${joined}/` : joined;
}

/**
 * The folder (S3: prefix) that holds `uri`. For S3 the result ends in `/`, so
 * listing it cannot match sibling keys that merely share a prefix
 * (`s3://b/out` would also match `s3://b/output/...`).
 */
export function dirnameUri(uri: string): string {
  if (!hasScheme(uri)) return path.dirname(uri);
  const schemeEnd = uri.indexOf('://') + 3;
  const withoutTrailing = uri.replace(/\/+$/, '');
  const slash = withoutTrailing.lastIndexOf('/');
  if (slash < schemeEnd) {
    // `s3://bucket` or `s3://bucket/`: the bucket root is its own folder.
    return `${withoutTrailing}/`;
  }
  return withoutTrailing.slice(0, slash + 1);
}

/** The last segment of `uri` (file or object name), without a trailing `/`. */
export function basenameUri(uri: string): string {
  if (!hasScheme(uri)) return path.basename(uri);
  const withoutTrailing = uri.replace(/\/+$/, '');
  return withoutTrailing.slice(withoutTrailing.lastIndexOf('/') + 1);
}
