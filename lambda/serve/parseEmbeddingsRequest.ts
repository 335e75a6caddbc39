/**
 * Reads and checks the body of `POST /v1/embeddings`, in one place, with the
 * status an OpenAI-compatible server would answer.
 */
import type { ServeError } from './errorBody.ts';

/** The largest `dimensions` a request may ask for: beyond every model in DESIGN.md, and it bounds memory. */
export const MAX_DIMENSIONS = 8192;

/** A valid embeddings request. */
export interface EmbeddingsRequest {
  readonly model: string;
  readonly inputs: readonly string[];
  readonly encoding: 'float' | 'base64';
  /** Requested dimensions, when the body named them. */
  readonly dimensions?: number;
}

/** What the body says, as far as it could be read: for the request log, even when invalid. */
export interface RequestSummary {
  readonly inputs: number;
  readonly model?: string;
  readonly encoding?: string;
}

/** The server's limits that a request is checked against. */
export interface RequestRules {
  readonly models: ReadonlySet<string>;
  readonly maxInputs?: number;
  readonly maxInputChars?: number;
}

/** Either a valid request or the error to answer, with what could be read either way. */
export type ParsedEmbeddingsRequest =
  | { readonly ok: true; readonly request: EmbeddingsRequest; readonly summary: RequestSummary }
  | { readonly ok: false; readonly error: ServeError; readonly summary: RequestSummary };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function summarise(body: unknown): RequestSummary {
  if (!isRecord(body)) return { inputs: 0 };
  const input = body.input;
  const inputs = typeof input === 'string' ? 1 : Array.isArray(input) ? input.length : 0;
  return {
    inputs,
    model: typeof body.model === 'string' ? body.model : undefined,
    encoding: typeof body.encoding_format === 'string' ? body.encoding_format : undefined,
  };
}

function invalid(
  summary: RequestSummary,
  message: string,
  code = 'invalid_request',
): ParsedEmbeddingsRequest {
  return { ok: false, error: { status: 400, message, code }, summary };
}

/**
 * Parses the body text and checks it: JSON object, `model` a served model id,
 * `input` a non-empty string or a non-empty array of non-empty strings,
 * `encoding_format` `"float"` or `"base64"`, `dimensions` an integer in
 * 1..{@link MAX_DIMENSIONS}, then the server's `maxInputs` and `maxInputChars`
 * (413). `null` optional fields count as absent, as most servers treat them.
 */
export function parseEmbeddingsRequest(text: string, rules: RequestRules): ParsedEmbeddingsRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return invalid({ inputs: 0 }, 'We could not parse the JSON body of your request.', 'invalid_json');
  }
  const summary = summarise(body);
  if (!isRecord(body)) return invalid(summary, 'The request body must be a JSON object.');

  const { model, input } = body;
  if (typeof model !== 'string' || model === '') {
    return invalid(summary, "'model' is required and must be a non-empty string.");
  }
  if (input === undefined || input === null) return invalid(summary, "'input' is required.");
  if (typeof input !== 'string' && !Array.isArray(input)) {
    return invalid(summary, "'input' must be a string or an array of strings.");
  }
  const inputs: readonly unknown[] = typeof input === 'string' ? [input] : input;
  if (inputs.length === 0) return invalid(summary, "'input' must not be an empty array.");
  for (let i = 0; i < inputs.length; i++) {
    const value = inputs[i];
    if (typeof value !== 'string') {
      // Token arrays are valid OpenAI input, but the offline embedder has no tokenizer to invert them.
      return invalid(
        summary,
        `'input[${i}]' must be a string, got ${value === null ? 'null' : typeof value}.`,
      );
    }
    if (value === '') return invalid(summary, `'input[${i}]' must not be an empty string.`);
  }

  const encodingFormat = body.encoding_format ?? 'float';
  if (encodingFormat !== 'float' && encodingFormat !== 'base64') {
    return invalid(
      summary,
      `'encoding_format' must be "float" or "base64", got ${JSON.stringify(encodingFormat)}.`,
    );
  }
  const dimensions = body.dimensions ?? undefined;
  if (
    dimensions !== undefined &&
    (typeof dimensions !== 'number' ||
      !Number.isInteger(dimensions) ||
      dimensions < 1 ||
      dimensions > MAX_DIMENSIONS)
  ) {
    return invalid(
      summary,
      `'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}, got ${JSON.stringify(dimensions)}.`,
    );
  }

  if (!rules.models.has(model)) {
    return {
      ok: false,
      error: { status: 404, message: `model '${model}' not found`, code: 'model_not_found' },
      summary,
    };
  }
  if (rules.maxInputs !== undefined && inputs.length > rules.maxInputs) {
    return {
      ok: false,
      error: {
        status: 413,
        message: `too many inputs in one request: ${inputs.length}, the limit is ${rules.maxInputs} (maxInputs)`,
        code: 'too_many_inputs',
      },
      summary,
    };
  }
  if (rules.maxInputChars !== undefined) {
    for (let i = 0; i < inputs.length; i++) {
      const length = (inputs[i] as string).length;
      if (length > rules.maxInputChars) {
        return {
          ok: false,
          error: {
            status: 413,
            message: `Input validation error: input ${i} is too long: ${length} characters, the limit is ${rules.maxInputChars} (maxInputChars)`,
            code: 'input_too_long',
          },
          summary,
        };
      }
    }
  }

  return {
    ok: true,
    request: { model, inputs: inputs as string[], encoding: encodingFormat, dimensions },
    summary,
  };
}
