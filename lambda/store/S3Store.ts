import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError, EmbedBatchError, InputError } from '../errors.ts';
import type { SourceInfo } from '../types.ts';
import type { ByteRange, ObjectStore, OpenedObject } from './ObjectStore.ts';
import { parseS3Uri } from './uri.ts';

/** Tuning of an `S3Store`; every field has a default fit for Lambda. */
export interface S3StoreOptions {
  /** Part size of multipart uploads in `putStream`. @default 8 MiB */
  readonly partSize?: number;
  /** Parts uploaded at once by `putStream` (memory: `partSize * queueSize`). @default 4 */
  readonly queueSize?: number;
  /** `MaxKeys` of each ListObjectsV2 page; S3 never returns more than 1000. @default 1000 */
  readonly listPageSize?: number;
}

const MIB = 1024 * 1024;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

/**
 * `ObjectStore` over Amazon S3 (or any S3-compatible server) for `s3://bucket/key` URIs.
 *
 * - ETags are AWS's values without the surrounding quotes (`"abc"` -> `abc`,
 *   multipart `"abc-3"` -> `abc-3`), the form S3 event notifications carry, so
 *   an ETag from an event and one from this store compare equal.
 * - `bytes` of an opened range is the size of the whole object, not of the range.
 * - A missing object (404) or one we may not read (403) is an `InputError`
 *   naming the URI; a body that breaks off mid-stream is one too, with the
 *   count of bytes that did arrive, so a partial read can never pass for a
 *   short file.
 */
export class S3Store implements ObjectStore {
  readonly #client: S3Client;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #listPageSize: number;

  constructor(client: S3Client, options: S3StoreOptions = {}) {
    this.#client = client;
    this.#partSize = options.partSize ?? 8 * MIB;
    this.#queueSize = options.queueSize ?? 4;
    this.#listPageSize = options.listPageSize ?? 1000;
    positiveInteger(this.#partSize, 'partSize');
    positiveInteger(this.#queueSize, 'queueSize');
    positiveInteger(this.#listPageSize, 'listPageSize');
    // S3 refuses multipart parts under 5 MiB (but the last), so a smaller size would only fail later.
    if (this.#partSize < 5 * MIB) {
      throw new ConfigError(`Expected \`partSize\` to be at least 5 MiB, got ${this.#partSize}`);
    }
  }

  async get(uri: string, range?: ByteRange): Promise<OpenedObject> {
    const { bucket, key } = parseS3Uri(uri);
    if (range !== undefined) validateRange(uri, range);
    let response: GetObjectCommandOutput;
    try {
      response = await this.#client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          Range: range === undefined ? undefined : `bytes=${range.start}-${range.end}`,
        }),
      );
    } catch (error) {
      // A range past the end is an empty read, as on a local file, not a failure.
      if (range !== undefined && statusOf(error) === 416) {
        const info = await this.head(uri);
        if (info) return { info, body: emptyBody() };
      }
      throw notReadable(uri, error);
    }
    const info: SourceInfo = {
      uri,
      etag: unquote(response.ETag),
      bytes: totalSize(response.ContentRange) ?? response.ContentLength ?? 0,
    };
    if (response.Body === undefined) return { info, body: emptyBody() };
    return { info, body: guardBody(uri, response.Body as AsyncIterable<Uint8Array>) };
  }

  async head(uri: string): Promise<SourceInfo | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const response = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { uri, etag: unquote(response.ETag), bytes: response.ContentLength ?? 0 };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Every object whose key starts with the prefix, in S3's key order, one page
   * at a time. Zero-byte "folder" markers (keys ending in `/`, made by the S3
   * console) are not objects of ours and are left out.
   */
  async *list(prefixUri: string): AsyncIterable<SourceInfo> {
    const { bucket, key: prefix } = parseS3Uri(prefixUri);
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix === '' ? undefined : prefix,
          ContinuationToken: token,
          MaxKeys: this.#listPageSize,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        yield { uri: `s3://${bucket}/${object.Key}`, etag: unquote(object.ETag), bytes: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async put(uri: string, body: Uint8Array | string): Promise<{ bytes: number }> {
    return this.#putObject(uri, body);
  }

  /** One PutObject of a whole body, optionally conditional. */
  async #putObject(
    uri: string,
    body: Uint8Array | string,
    condition: { IfNoneMatch?: string; IfMatch?: string } = {},
  ): Promise<{ bytes: number }> {
    const { bucket, key } = parseS3Uri(uri);
    // The SDK sends no Content-Length for an empty string (and warns about "a Stream of unknown length"): send bytes.
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.#client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: data,
        ContentLength: data.byteLength,
        ContentType: contentTypeOf(key),
        ...condition,
      }),
    );
    return { bytes: data.byteLength };
  }

  /**
   * Streams to S3 with lib-storage's `Upload`: one PutObject for bodies under
   * one part, a multipart upload otherwise. On any failure the multipart
   * upload is aborted (lib-storage's default), so no half object appears and
   * no orphaned parts are billed.
   */
  async putStream(uri: string, body: Readable | AsyncIterable<Uint8Array>): Promise<{ bytes: number }> {
    const { bucket, key } = parseS3Uri(uri);
    let bytes = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        bytes += buffer.byteLength;
        yield buffer;
      }
    }
    // `Upload` takes Readables but not plain async iterables; `Readable.from` bridges both.
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: bucket, Key: key, Body: Readable.from(counted()), ContentType: contentTypeOf(key) },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
    });
    await upload.done();
    return { bytes };
  }

  async getText(uri: string): Promise<string | undefined> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await response.Body?.transformToString('utf-8')) ?? '';
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /** Server-side CopyObject: no bytes pass through this process (parts are far below its 5 GB limit). */
  async copy(fromUri: string, toUri: string): Promise<void> {
    const from = parseS3Uri(fromUri);
    const to = parseS3Uri(toUri);
    try {
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: to.bucket,
          Key: to.key,
          CopySource: `${from.bucket}/${from.key.split('/').map(encodeURIComponent).join('/')}`,
        }),
      );
    } catch (error) {
      if (statusOf(error) === 404) throw new InputError(`no such object: ${fromUri}`, { cause: error });
      throw error;
    }
  }

  /** CopyObject then delete: S3 has no rename (parts are far below CopyObject's 5 GB limit). */
  async rename(fromUri: string, toUri: string): Promise<void> {
    await this.copy(fromUri, toUri);
    await this.delete([fromUri]);
  }

  /** PutObject with `If-None-Match: *` (S3's conditional write); false on 412 (or 409, a concurrent conditional write). */
  async putIfAbsent(uri: string, body: string): Promise<boolean> {
    return this.#putConditionally(uri, body, { IfNoneMatch: '*' });
  }

  /** PutObject with `If-Match: "<etag>"`; false on 412/409, or 404 when the object is gone. */
  async putIfMatch(uri: string, body: string, etag: string): Promise<boolean> {
    return this.#putConditionally(uri, body, { IfMatch: `"${etag}"` });
  }

  async #putConditionally(
    uri: string,
    body: string,
    condition: { IfNoneMatch?: string; IfMatch?: string },
  ): Promise<boolean> {
    try {
      await this.#putObject(uri, body, condition);
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409 || status === 404) return false;
      throw error;
    }
  }

  /** DeleteObjects per bucket, 1000 keys a request (its limit); missing keys are fine, as on S3. */
  async delete(uris: readonly string[]): Promise<void> {
    const byBucket = new Map<string, string[]>();
    for (const uri of uris) {
      const { bucket, key } = parseS3Uri(uri);
      const keys = byBucket.get(bucket) ?? [];
      keys.push(key);
      byBucket.set(bucket, keys);
    }
    for (const [bucket, keys] of byBucket) {
      for (let i = 0; i < keys.length; i += DELETE_BATCH) {
        const chunk = keys.slice(i, i + DELETE_BATCH);
        const response = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        // DeleteObjects answers 200 even when some keys failed; those are listed in `Errors`.
        const failed = response.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new EmbedBatchError(
            `could not delete ${failed.length} object(s) in s3://${bucket}/, first s3://${bucket}/${first?.Key ?? '?'}: ${first?.Code ?? 'error'} ${first?.Message ?? ''}`.trim(),
          );
        }
      }
    }
  }
}

/** AWS quotes ETags in HTTP headers and listings; events and our records carry them bare. */
function unquote(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

/** The whole object's size from `Content-Range: bytes 0-99/1234`; undefined when unknown (`*`). */
function totalSize(contentRange: string | undefined): number | undefined {
  const match = contentRange?.match(/\/(\d+)\s*$/);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function statusOf(error: unknown): number | undefined {
  const e = error as { $metadata?: { httpStatusCode?: number }; name?: string } | undefined;
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.name === 'NoSuchBucket') return 404;
  if (e?.name === 'InvalidRange') return 416;
  return e?.$metadata?.httpStatusCode;
}

function notReadable(uri: string, error: unknown): Error {
  const status = statusOf(error);
  if (status === 404) {
    const what = (error as { name?: string }).name === 'NoSuchBucket' ? 'no such bucket' : 'no such object';
    return new InputError(`${what}: ${uri}`, { cause: error });
  }
  if (status === 403) {
    // S3 answers 403 for a missing key too when the caller lacks s3:ListBucket.
    return new InputError(`access denied reading ${uri} (or it does not exist and listing is not allowed)`, {
      cause: error,
    });
  }
  return new InputError(`cannot read ${uri}: ${(error as Error).message}`, { cause: error });
}

/**
 * Passes the body through and turns a mid-stream failure into an InputError
 * naming the URI and how far it got. Breaking off early ends the inner
 * iterator, which destroys the HTTP stream and frees its socket.
 */
async function* guardBody(uri: string, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`reading ${uri} failed after ${bytes} bytes: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

function validateRange(uri: string, range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new ConfigError(`Invalid byte range ${start}-${end} for ${uri}`);
  }
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`Expected \`${name}\` to be a positive integer, got ${value}`);
  }
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
  csv: 'text/csv',
};

/** A content type for the files we write, so consoles and browsers show them sensibly. */
function contentTypeOf(key: string): string | undefined {
  const extension = key.slice(key.lastIndexOf('.') + 1).toLowerCase();
  return CONTENT_TYPES[extension];
}
