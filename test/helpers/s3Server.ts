import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';

/** A local S3-compatible server (fauxqs, in-process) and a client pointed at it. */
export interface LocalS3 {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Default SDK settings plus the local endpoint, path-style addressing and dummy credentials. */
  readonly client: S3Client;
  /** A fresh client with the same settings, for tests that add middleware to it. */
  newClient(): S3Client;
  createBucket(name: string): Promise<void>;
  /** Uploads an object; returns what an S3 notification would carry (unquoted ETag, size). */
  putObject(bucket: string, key: string, body: string | Uint8Array): Promise<{ etag: string; size: number }>;
  /** Every key below a prefix, in key order. */
  listKeys(bucket: string, prefix: string): Promise<string[]>;
  /** The object's bytes, or undefined when it does not exist. */
  getBytes(bucket: string, key: string): Promise<Uint8Array | undefined>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs on loopback with a port the OS picks. fauxqs's own
 * `startFauxqs` binds every interface; building the app and listening on
 * 127.0.0.1 ourselves keeps test traffic on this machine.
 */
export async function startLocalS3(): Promise<LocalS3> {
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fauxqs did not report a TCP port');
  const endpoint = `http://127.0.0.1:${address.port}`;
  const newClient = (): S3Client =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  const client = newClient();
  return {
    endpoint,
    client,
    newClient,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async putObject(bucket, key, body) {
      // Bytes with a length: the SDK sends no Content-Length for '' and warns about it.
      const data = typeof body === 'string' ? Buffer.from(body) : body;
      const response = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentLength: data.byteLength }),
      );
      return { etag: (response.ETag ?? '').replace(/^"|"$/g, ''), size: data.byteLength };
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    },
    async getBytes(bucket, key) {
      try {
        const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return await response.Body?.transformToByteArray();
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async stop() {
      client.destroy();
      await app.close();
    },
  };
}
