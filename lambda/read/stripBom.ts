import type { ReadPosition } from './ReadPosition.ts';

const BOM = [0xef, 0xbb, 0xbf] as const;

function isBomPrefix(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length && i < BOM.length; i++) {
    if (bytes[i] !== BOM[i]) return false;
  }
  return true;
}

/**
 * Drops a UTF-8 byte order mark from the start of a byte stream, however the
 * stream is chunked. Done on bytes, before any parser, because csv-parse's own
 * `bom` option switches it from Buffers to decoded strings, which would hide
 * invalid UTF-8 from the readers.
 */
export async function* stripBom(
  chunks: AsyncIterable<Uint8Array>,
  position?: ReadPosition,
): AsyncGenerator<Uint8Array> {
  // Bytes held back while they could still be the start of a BOM; undefined once decided.
  let head: Uint8Array | undefined = new Uint8Array(0);
  for await (const chunk of chunks) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    const joined: Uint8Array = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    if (joined.length < BOM.length && isBomPrefix(joined)) {
      head = joined;
      continue;
    }
    head = undefined;
    const bom = isBomPrefix(joined);
    if (bom) position?.skip(BOM.length);
    const rest = bom ? joined.subarray(BOM.length) : joined;
    if (rest.length > 0) yield rest;
  }
  // A stream shorter than a BOM that merely starts like one is data, not a BOM.
  if (head !== undefined && head.length > 0) yield head;
}
