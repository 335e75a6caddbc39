/**
 * Typed errors. HTTP status is mapped to a class in exactly one place
 * (`embed/errorFromResponse.ts`); whether to retry is the `retryable` property,
 * never an `if` chain elsewhere.
 */

/** Base class of every error this project throws on purpose. */
export class EmbedBatchError extends Error {
  /** Whether the same operation may succeed when tried again. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EmbedBatchError';
  }
}

/** A bad option or environment variable; the message names it. */
export class ConfigError extends EmbedBatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** The input cannot be read at all (missing file, no text column, unreadable gzip). Fails the job. */
export class InputError extends EmbedBatchError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InputError';
  }
}

/** Details every endpoint error carries. */
export interface EndpointErrorDetails {
  /** HTTP status, when the server answered. */
  readonly status?: number;
  /** How long the server asked us to wait (Retry-After, retry-after-ms), in ms. */
  readonly retryAfterMs?: number;
  /** The server's own words, shortened; never contains the request or the token. */
  readonly serverMessage?: string;
}

/** An error talking to the embeddings endpoint. */
export class EndpointError extends EmbedBatchError {
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly serverMessage?: string;

  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EndpointError';
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.serverMessage = details.serverMessage;
  }
}

/** 401/403: the token is missing, wrong or lacks access. Fails the job at once. */
export class AuthenticationError extends EndpointError {
  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'AuthenticationError';
  }
}

/** 404 on the model (or on the endpoint path). Fails the job at once. */
export class ModelNotFoundError extends EndpointError {
  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'ModelNotFoundError';
  }
}

/** 413, or 400/422 that names size or length: the batch must be split, not retried as is. */
export class PayloadTooLargeError extends EndpointError {
  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'PayloadTooLargeError';
  }
}

/** 429: over the rate limit. Retryable after `retryAfterMs`. */
export class RateLimitError extends EndpointError {
  override readonly retryable = true;

  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'RateLimitError';
  }
}

/** 408, 409, 5xx, timeouts, connection resets: a passing fault. Retryable. */
export class TransientEndpointError extends EndpointError {
  override readonly retryable = true;

  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'TransientEndpointError';
  }
}

/**
 * A 2xx answer that does not fit the request: wrong count, wrong dimension,
 * non-finite values, unparseable body. Retryable: a sane server may answer right next time.
 */
export class InvalidResponseError extends EndpointError {
  override readonly retryable = true;

  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'InvalidResponseError';
  }
}

/** Any other 4xx: the request itself is wrong. Not retryable. */
export class BadRequestError extends EndpointError {
  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'BadRequestError';
  }
}

/** Errors that end the whole job, not one batch: bad credentials, unknown model. */
export function isFatalForJob(error: unknown): boolean {
  return error instanceof AuthenticationError || error instanceof ModelNotFoundError;
}

/**
 * The shared rate budget (a DynamoDB table) could not be read or written, so
 * no permit to send was granted. Retryable: the table may answer next time;
 * until it does, no request goes out, so the endpoint's contract is never
 * exceeded in silence. Past the embedder's retries the job fails with it.
 */
export class RateBudgetError extends EmbedBatchError {
  override readonly retryable = true;
  /** The budget's table. */
  readonly table: string;

  constructor(message: string, table: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RateBudgetError';
    this.table = table;
  }
}
