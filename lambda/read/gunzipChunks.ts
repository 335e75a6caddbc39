import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from '../errors.ts';

function isZlibError(error: unknown): error is Error {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Decompresses a gzip byte stream as it flows (never the whole file in memory).
 * Concatenated gzip members are read as one stream, as `gunzip` does.
 *
 * @throws {InputError} naming `source` when the bytes are not gzip or are cut short;
 *   errors of the underlying stream (a dropped connection) pass through unchanged.
 */
export async function* gunzipChunks(
  body: AsyncIterable<Uint8Array>,
  source: string,
): AsyncGenerator<Uint8Array> {
  const gunzip = createGunzip();
  // Errors reach us through the iterator below; this promise only must not go unhandled.
  pipeline(body, gunzip).catch(() => {});
  try {
    for await (const chunk of gunzip) yield chunk as Uint8Array;
  } catch (error) {
    if (isZlibError(error)) {
      throw new InputError(`${source}: not a readable gzip file (${error.message})`, { cause: error });
    }
    throw error;
  } finally {
    gunzip.destroy();
  }
}
