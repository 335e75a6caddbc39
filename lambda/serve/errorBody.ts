/**
 * OpenAI-style error bodies: `{"error":{"message","type","param","code"}}`,
 * the shape OpenAI-compatible clients look for.
 */

/** A reason to refuse a request, before it becomes a body. */
export interface ServeError {
  readonly status: number;
  readonly message: string;
  readonly code: string;
}

/** The OpenAI `type` for a status: clients sort errors by it. */
export function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The JSON text of an error answer. */
export function errorBody(error: ServeError): string {
  return JSON.stringify({
    error: { message: error.message, type: errorType(error.status), param: null, code: error.code },
  });
}
