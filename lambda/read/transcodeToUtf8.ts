/** The text encodings the readers understand. */
export const INPUT_ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'latin1'] as const;

/** One of `INPUT_ENCODINGS`. */
export type InputEncoding = (typeof INPUT_ENCODINGS)[number];

/**
 * Stands in for every byte (or code unit) the source encoding does not
 * define. 0xFF never occurs in UTF-8, and is neither a line break, a quote nor
 * a delimiter, so the readers' own UTF-8 checks reject exactly the record
 * that held it, and record and line numbers stay as they were.
 */
const INVALID = 0xff;

/**
 * Windows-1252 at 0x80..0x9F; 0 marks the five bytes it leaves undefined
 * (0x81, 0x8D, 0x8F, 0x90, 0x9D). Everywhere else it is ISO-8859-1.
 */
const CP1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
  0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0, 0x017e, 0x0178,
];

/** Why a record holding `INVALID` is rejected, in the words of its encoding. */
export function invalidBytesReason(encoding: InputEncoding): string {
  switch (encoding) {
    case 'utf-8':
      return 'invalid UTF-8 bytes';
    case 'windows-1252':
      return 'a byte windows-1252 does not define (0x81, 0x8D, 0x8F, 0x90 or 0x9D)';
    case 'latin1':
      return 'invalid bytes';
    default:
      return `invalid ${encoding.toUpperCase()} (a lone surrogate, or an odd byte at the end)`;
  }
}

/** The encoding a byte order mark at the start names, and its length; undefined without one. */
function bomOf(head: Uint8Array): { encoding: InputEncoding; length: number } | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return undefined;
}

/** Writes one code point (not a surrogate) as UTF-8 at `at`; returns the offset after it. */
function putCodePoint(out: Buffer, at: number, code: number): number {
  if (code < 0x80) {
    out[at] = code;
    return at + 1;
  }
  if (code < 0x800) {
    out[at] = 0xc0 | (code >> 6);
    out[at + 1] = 0x80 | (code & 0x3f);
    return at + 2;
  }
  if (code < 0x10000) {
    out[at] = 0xe0 | (code >> 12);
    out[at + 1] = 0x80 | ((code >> 6) & 0x3f);
    out[at + 2] = 0x80 | (code & 0x3f);
    return at + 3;
  }
  out[at] = 0xf0 | (code >> 18);
  out[at + 1] = 0x80 | ((code >> 12) & 0x3f);
  out[at + 2] = 0x80 | ((code >> 6) & 0x3f);
  out[at + 3] = 0x80 | (code & 0x3f);
  return at + 4;
}

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** One byte per character: windows-1252 or ISO-8859-1. */
function decodeSingleByte(bytes: Uint8Array, cp1252: boolean): Uint8Array {
  if (isAscii(bytes)) return bytes;
  const out = Buffer.allocUnsafe(bytes.length * 3);
  let at = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte < 0x80) {
      out[at++] = byte;
      continue;
    }
    const code = cp1252 && byte < 0xa0 ? CP1252_HIGH[byte - 0x80]! : byte;
    if (code === 0) out[at++] = INVALID;
    else at = putCodePoint(out, at, code);
  }
  return out.subarray(0, at);
}

/** Streaming UTF-16 to UTF-8: an odd byte or a high surrogate at a chunk's end waits for the next. */
class Utf16Decoder {
  readonly #bigEndian: boolean;
  #carry: Uint8Array = new Uint8Array(0);

  constructor(bigEndian: boolean) {
    this.#bigEndian = bigEndian;
  }

  push(chunk: Uint8Array, final: boolean): Uint8Array {
    const bytes = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const units = bytes.length >> 1;
    // At most 3 bytes per code unit (a pair of 4 bytes is 2 units), plus one marker for an odd byte.
    const out = Buffer.allocUnsafe(units * 3 + 1);
    const unitAt = this.#bigEndian
      ? (i: number) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!
      : (i: number) => bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
    let at = 0;
    let i = 0;
    for (; i < units; i++) {
      const unit = unitAt(i);
      if (unit < 0xd800 || unit > 0xdfff) {
        at = putCodePoint(out, at, unit);
      } else if (unit <= 0xdbff) {
        if (i + 1 === units && !final) break; // its low surrogate may be in the next chunk
        const next = i + 1 < units ? unitAt(i + 1) : -1;
        if (next >= 0xdc00 && next <= 0xdfff) {
          at = putCodePoint(out, at, 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00));
          i++;
        } else {
          out[at++] = INVALID;
        }
      } else {
        out[at++] = INVALID; // a low surrogate with no high one before it
      }
    }
    const rest = bytes.subarray(2 * i);
    if (final) {
      if (rest.length > 0) out[at++] = INVALID;
      this.#carry = new Uint8Array(0);
    } else {
      this.#carry = Uint8Array.from(rest);
    }
    return out.subarray(0, at);
  }
}

/** Options of `transcodeToUtf8`. */
export interface TranscodeOptions {
  /** The encoding to read; a byte order mark overrides it. @default 'utf-8' */
  readonly encoding?: InputEncoding;
  /**
   * Whether the stream starts at the file's first byte, where a UTF-16 BOM
   * may stand. A byte-range shard from the middle does not: its first bytes
   * are data (a UTF-8 BOM is dropped anyway, as the shard planner expects).
   * @default true
   */
  readonly atFileStart?: boolean;
}

/** The UTF-8 bytes of a text stream, and what it was read as. */
export interface Utf8Stream {
  /** The encoding used: the BOM's, else the one asked for. */
  readonly encoding: InputEncoding;
  /** A byte order mark chose `encoding` (or confirmed it). */
  readonly fromBom: boolean;
  readonly chunks: AsyncGenerator<Uint8Array>;
}

/**
 * Turns a byte stream in one of `INPUT_ENCODINGS` into UTF-8 bytes, without
 * its byte order mark, as it flows: the CSV and JSONL readers then work on
 * UTF-8 bytes only. A UTF-8 or UTF-16 BOM at the start wins over the
 * encoding asked for (as browsers decide). Line breaks map one to one, so
 * record and line numbers are those of the original file.
 *
 * Nothing is ever decoded to U+FFFD: a byte windows-1252 leaves undefined,
 * a lone UTF-16 surrogate or an odd last byte becomes the byte 0xFF, which no
 * UTF-8 text holds, so the record that contained it is rejected by the
 * readers' UTF-8 check (with `invalidBytesReason`) and every other record is read.
 *
 * Reads the first bytes (up to three) before it returns.
 */
export async function transcodeToUtf8(
  body: AsyncIterable<Uint8Array>,
  options: TranscodeOptions = {},
): Promise<Utf8Stream> {
  const iterator = body[Symbol.asyncIterator]();
  let head: Uint8Array = new Uint8Array(0);
  let done = false;
  while (head.length < 3) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  let bom = bomOf(head);
  // A mark is the file's only at its start: elsewhere (a shard, a resumed read) U+FEFF is text.
  if (bom !== undefined && options.atFileStart === false) bom = undefined;
  const encoding = bom?.encoding ?? options.encoding ?? 'utf-8';
  const first = head.subarray(bom?.length ?? 0);

  let decode: (chunk: Uint8Array, final: boolean) => Uint8Array;
  if (encoding === 'utf-8') {
    decode = (chunk) => chunk;
  } else if (encoding === 'windows-1252' || encoding === 'latin1') {
    const cp1252 = encoding === 'windows-1252';
    decode = (chunk) => decodeSingleByte(chunk, cp1252);
  } else {
    const decoder = new Utf16Decoder(encoding === 'utf-16be');
    decode = (chunk, final) => decoder.push(chunk, final);
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      let pending: Uint8Array | undefined = first;
      if (!done) {
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) break;
          const out = decode(pending, false);
          if (out.length > 0) yield out;
          pending = next.value;
        }
      }
      const out = decode(pending, true);
      if (out.length > 0) yield out;
    } finally {
      await iterator.return?.();
    }
  }
  return { encoding, fromBom: bom !== undefined, chunks: chunks() };
}
