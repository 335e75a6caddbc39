/**
 * Decodes the body of a `POST /embeddings` answer from what actually came back,
 * never from what was asked for: servers ignore `encoding_format`, reorder
 * `data`, drop `index`, or send the wrong number of vectors.
 */
import { endianness } from 'node:os';
import { InvalidResponseError } from '../errors.ts';
import { redactSecrets } from './redactSecret.ts';

/** What the caller knows about the request the body answers. */
export interface DecodeExpectations {
  /** Number of inputs sent: exactly this many vectors must come back. */
  readonly count: number;
  /** Dimension every vector must have, when known (requested or learned); undefined accepts any. */
  readonly dimensions?: number;
  /** Strings never to quote from the body (the API key, should a server echo it). */
  readonly secrets?: readonly string[];
}

/** A decoded, validated embeddings answer. */
export interface DecodedEmbeddings {
  /** One vector per input, in input order. */
  readonly vectors: Float32Array[];
  /** `usage` as the server reported it; undefined when it sent none. */
  readonly usage?: { readonly promptTokens: number; readonly totalTokens: number };
  /** The model the server says it used. */
  readonly model?: string;
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** Longest piece of a server's value quoted in a message. */
const MAX_QUOTED = 200;

/** A value from the body as a message may quote it: redacted first, then cut. */
function quoted(value: unknown, secrets: readonly string[] | undefined): string {
  // Cut generously before redacting (a body may be megabytes), then to length after.
  const text = redactSecrets((JSON.stringify(value) ?? String(value)).slice(0, 16 * MAX_QUOTED), secrets);
  return text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED - 1)}…` : text;
}

function invalid(message: string): InvalidResponseError {
  return new InvalidResponseError(`the endpoint sent an invalid embeddings response: ${message}`);
}

/**
 * Float32 values from little-endian bytes: a view without copying when the
 * bytes are 4-aligned (and the host is little-endian), one copy otherwise.
 * The length must be a multiple of 4.
 */
export function float32FromLittleEndian(bytes: Uint8Array): Float32Array {
  const length = bytes.byteLength / 4;
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) {
    // Small Buffers share Node's pool slab, so the view keeps that slab (8 KiB)
    // alive: cheaper than copying every vector.
    return new Float32Array(bytes.buffer, bytes.byteOffset, length);
  }
  if (LITTLE_ENDIAN_HOST) {
    // Float32Array cannot view unaligned bytes: one copy into a fresh, aligned buffer.
    return new Float32Array(bytes.slice().buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function fromBase64(text: string, position: number): Float32Array {
  // Node aligns its pool to 8 bytes today, so this is usually a view; the
  // unaligned path stays for other runtimes and future Node versions.
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) {
    throw invalid(
      `data[${position}].embedding is base64 of ${bytes.byteLength} bytes, not a whole number of float32`,
    );
  }
  return float32FromLittleEndian(bytes);
}

function fromNumbers(values: readonly unknown[], position: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // Float32Array would silently turn null into 0 and "1" into 1.
    if (typeof value !== 'number') {
      throw invalid(
        `data[${position}].embedding[${i}] is ${value === null ? 'null' : typeof value}, not a number`,
      );
    }
    out[i] = value;
  }
  return out;
}

function checkFinite(vector: Float32Array, position: number): void {
  // x * 0 is 0 for every finite x and NaN for NaN and ±Infinity: one sum, no
  // branch per value; the loop below only runs to name the culprit.
  let probe = 0;
  for (let i = 0; i < vector.length; i++) probe += (vector[i] as number) * 0;
  if (probe === 0) return;
  for (let i = 0; i < vector.length; i++) {
    // Also catches float64 values too large for float32 that became Infinity.
    if (!Number.isFinite(vector[i])) {
      throw invalid(`data[${position}].embedding[${i}] is ${vector[i]}, not a finite number`);
    }
  }
}

function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Decodes and validates an embeddings body (already parsed from JSON).
 *
 * Each `data[i].embedding` may be a number array or base64 of little-endian
 * float32, whatever was requested. Vectors are ordered by `data[i].index`
 * (array position where `index` is missing). Throws {@link InvalidResponseError}
 * unless there is exactly one vector per input, every index 0..count-1 appears
 * once, all vectors share one dimension (equal to `expected.dimensions` when
 * given), and every value is finite. Pure.
 */
export function decodeEmbeddings(body: unknown, expected: DecodeExpectations): DecodedEmbeddings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the body is not a JSON object');
  }
  const record = body as Record<string, unknown>;
  const data = record.data;
  if (!Array.isArray(data)) {
    const error = record.error === undefined ? '' : ` (it says: ${quoted(record.error, expected.secrets)})`;
    throw invalid(`it has no \`data\` array${error}`);
  }
  if (data.length !== expected.count) {
    throw invalid(`expected ${expected.count} embeddings for ${expected.count} inputs, got ${data.length}`);
  }

  const vectors: (Float32Array | undefined)[] = new Array(expected.count).fill(undefined);
  let dimensions = expected.dimensions;
  for (let position = 0; position < data.length; position++) {
    const item: unknown = data[position];
    if (typeof item !== 'object' || item === null) throw invalid(`data[${position}] is not an object`);
    const { embedding, index: rawIndex } = item as { embedding?: unknown; index?: unknown };

    const index = rawIndex ?? position;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= expected.count) {
      throw invalid(
        `data[${position}].index is ${quoted(index, expected.secrets)}, outside 0..${expected.count - 1}`,
      );
    }
    if (vectors[index] !== undefined) throw invalid(`index ${index} appears more than once`);

    let vector: Float32Array;
    if (typeof embedding === 'string') vector = fromBase64(embedding, position);
    else if (Array.isArray(embedding)) vector = fromNumbers(embedding, position);
    else throw invalid(`data[${position}].embedding is neither a number array nor a base64 string`);

    if (vector.length === 0) throw invalid(`data[${position}].embedding is empty`);
    if (dimensions === undefined) {
      dimensions = vector.length;
    } else if (vector.length !== dimensions) {
      const why =
        expected.dimensions === undefined ? 'the earlier vectors of this response have' : 'expected';
      throw invalid(`data[${position}].embedding has ${vector.length} dimensions, ${why} ${dimensions}`);
    }
    checkFinite(vector, position);
    vectors[index] = vector;
  }
  // Every slot is filled: count matched, indexes are in range and unique.

  const usage = record.usage as { prompt_tokens?: unknown; total_tokens?: unknown } | null | undefined;
  const promptTokens = tokenCount(usage?.prompt_tokens);
  const totalTokens = tokenCount(usage?.total_tokens);
  return {
    vectors: vectors as Float32Array[],
    ...(promptTokens !== undefined || totalTokens !== undefined
      ? {
          usage: {
            promptTokens: promptTokens ?? totalTokens ?? 0,
            totalTokens: totalTokens ?? promptTokens ?? 0,
          },
        }
      : {}),
    ...(typeof record.model === 'string' ? { model: record.model } : {}),
  };
}
