/**
 * Builds the body of a `POST /v1/embeddings` answer as JSON text, fast: the
 * server shares the CPU with the client under test, so every microsecond spent
 * here is taken from the measurement.
 */
import { endianness } from 'node:os';
import { featureHashEmbed } from '../embed/featureHash.ts';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/** What to answer, and which answer-shaped fault to put in it. */
export interface RenderRequest {
  readonly inputs: readonly string[];
  /** Model id echoed back. */
  readonly model: string;
  readonly dimensions: number;
  readonly encoding: 'float' | 'base64';
  /** Answer data[] last index first. */
  readonly reverseOrder: boolean;
  /** Sum of the inputs' token estimates. */
  readonly promptTokens: number;
  /** `wrong-count` drops the last embedding; `nan` spoils the first value of the first vector. */
  readonly fault?: 'wrong-count' | 'nan';
}

/** The JSON text, and how many usable vectors it carries. */
export interface RenderedEmbeddings {
  readonly body: string;
  readonly embedded: number;
}

function toBase64(vector: Float32Array): string {
  if (LITTLE_ENDIAN_HOST)
    return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
  // The wire format is little-endian float32 whatever the host is.
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

/**
 * Float text per vector. Number-to-text is the expensive part, and a
 * feature-hash vector holds few distinct values (zeros, and the same few
 * weights divided by one norm), so each distinct value is formatted once per
 * vector. `String(x)` of a float32 value is the shortest double text, which
 * parses back to exactly that float32, as OpenAI's own answers do.
 */
class FloatFormatter {
  readonly #memo = new Map<number, string>();
  #row: string[] = [];

  format(vector: Float32Array, spoil: boolean): string {
    const memo = this.#memo;
    memo.clear();
    if (this.#row.length !== vector.length) this.#row = new Array<string>(vector.length);
    const row = this.#row;
    for (let i = 0; i < vector.length; i++) {
      const x = vector[i]!;
      if (x === 0) {
        row[i] = '0';
        continue;
      }
      let text = memo.get(x);
      if (text === undefined) {
        text = String(x);
        memo.set(x, text);
      }
      row[i] = text;
    }
    // JSON has no NaN; null is what a broken server serialising NaN sends.
    if (spoil && row.length > 0) row[0] = 'null';
    return `[${row.join(',')}]`;
  }
}

/** Renders `{object:"list", data:[...], model, usage}` for the request. */
export function renderEmbeddings(request: RenderRequest): RenderedEmbeddings {
  const { inputs, dimensions, encoding, reverseOrder, fault } = request;
  const count = fault === 'wrong-count' ? inputs.length - 1 : inputs.length;
  const formatter = encoding === 'float' ? new FloatFormatter() : undefined;
  const items = new Array<string>(count);
  for (let k = 0; k < count; k++) {
    const index = reverseOrder ? count - 1 - k : k;
    const vector = featureHashEmbed(inputs[index]!, dimensions);
    const spoil = fault === 'nan' && k === 0;
    let embedding: string;
    if (formatter !== undefined) {
      embedding = formatter.format(vector, spoil);
    } else {
      if (spoil && vector.length > 0) vector[0] = Number.NaN;
      embedding = `"${toBase64(vector)}"`;
    }
    items[k] = `{"object":"embedding","index":${index},"embedding":${embedding}}`;
  }
  const body =
    `{"object":"list","data":[${items.join(',')}],"model":${JSON.stringify(request.model)},` +
    `"usage":{"prompt_tokens":${request.promptTokens},"total_tokens":${request.promptTokens}}}`;
  return { body, embedded: fault === 'nan' ? Math.max(0, count - 1) : count };
}
