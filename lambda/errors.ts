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
 * Connection refused, host not found, network unreachable: retryable, but only
 * briefly (a few attempts within seconds, not minutes): an endpoint nobody
 * listens on rarely starts listening while we wait.
 */
export class UnreachableEndpointError extends TransientEndpointError {
  /** The host (and port) that could not be reached, as the message names it. */
  readonly host?: string;

  constructor(
    message: string,
    details: EndpointErrorDetails & { readonly host?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, details, options);
    this.name = 'UnreachableEndpointError';
    this.host = details.host;
  }
}

/**
 * A 400/422 refusing the `encoding_format: "base64"` we asked for. Retryable:
 * the client asks for floats from then on, so the same batch succeeds next time.
 */
export class EncodingRefusedError extends EndpointError {
  override readonly retryable = true;

  constructor(message: string, details: EndpointErrorDetails = {}, options?: ErrorOptions) {
    super(message, details, options);
    this.name = 'EncodingRefusedError';
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
 * Another live run holds the output folder (one writer per folder). Retryable:
 * the holder finishes, or stops holding once its lease lapses.
 */
export class OutputBusyError extends EmbedBatchError {
  override readonly retryable = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OutputBusyError';
  }
}

/**
 * The job was asked to stop (Ctrl-C, SIGTERM, a Lambda or shard time budget)
 * and did, with its progress checkpointed: the same job resumes from there.
 */
export class JobInterruptedError extends EmbedBatchError {
  /** Records whose fate is committed (embedded or rejected). */
  readonly recordsDone: number;
  /** About how many records the input holds, where it can be told (plain files: from the bytes read). */
  readonly recordsEstimated?: number;

  constructor(recordsDone: number, options?: ErrorOptions & { readonly recordsEstimated?: number }) {
    const of = options?.recordsEstimated === undefined ? '' : ` of ~${options.recordsEstimated}`;
    super(
      `interrupted: ${recordsDone}${of} records done; progress is checkpointed and the same job resumes`,
      options,
    );
    this.name = 'JobInterruptedError';
    this.recordsDone = recordsDone;
    this.recordsEstimated = options?.recordsEstimated;
  }
}

/**
 * A request was never sent because the job is stopping (a signal, the end of
 * the invocation's time). Its records stay after the checkpoint's cursor.
 */
export class JobStoppedError extends EmbedBatchError {
  constructor() {
    super('stopping: the request was not sent');
    this.name = 'JobStoppedError';
  }
}

/**
 * The shared rate budget (a DynamoDB table) could not be read or written
 * after the SDK's brief retries, so no permit to send was granted and the job
 * fails with it: no request goes out without one, so the endpoint's contract
 * is never exceeded in silence. Retryable: the table may answer when the job
 * is tried again (an SQS redelivery, a rerun).
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
