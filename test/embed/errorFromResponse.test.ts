import { describe, expect, it } from 'vitest';
import {
  errorFromNetworkFailure,
  errorFromResponse,
  serverMessageOf,
  statusKey,
} from '../../lambda/embed/errorFromResponse.ts';
import {
  AuthenticationError,
  BadRequestError,
  InvalidResponseError,
  ModelNotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  TransientEndpointError,
  UnreachableEndpointError,
} from '../../lambda/errors.ts';

const KEY = 'sk-test-0123456789abcdef';

function failed(status: number, body = '', headers: Record<string, string> = {}) {
  return errorFromResponse({
    status,
    body,
    headers: new Headers(headers),
    model: 'BAAI/bge-m3',
    secrets: [KEY],
  });
}

function openAiError(message: string): string {
  return JSON.stringify({ error: { message, type: 'invalid_request_error' } });
}

describe('Function: errorFromResponse', () => {
  it.each([401, 403])('maps %d to an AuthenticationError that names the variables, not the key', (status) => {
    // Act
    const error = failed(status, openAiError(`Incorrect API key provided: ${KEY}`));

    // Assess
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `the endpoint refused the API key (HTTP ${status}); check EMBEDDINGS_API_KEY / IONOS_API_TOKEN`,
    );
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(KEY);
    expect(error.serverMessage).toContain('[redacted]');
  });

  it('maps 404 to a ModelNotFoundError that names the model and `embed-batch models`', () => {
    // Act
    const error = failed(404, openAiError("model 'BAAI/bge-m3' not found"));

    // Assess
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toContain('"BAAI/bge-m3"');
    expect(error.message).toContain('embed-batch models');
    expect(error.retryable).toBe(false);
  });

  it('maps 404 without a model (GET /models) to a hint about the base URL', () => {
    // Act
    const error = errorFromResponse({ status: 404, body: 'Not Found', headers: new Headers() });

    // Assess
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toContain('check the base URL');
  });

  it('maps a 400 that says the model does not exist to a ModelNotFoundError', () => {
    // Act
    const error = failed(400, openAiError('The model `foo/bar` does not exist.'));

    // Assess
    expect(error).toBeInstanceOf(ModelNotFoundError);
  });

  it('maps 413 to a PayloadTooLargeError with the server message', () => {
    // Act
    const error = failed(413, openAiError('too many inputs in one request: 64, the limit is 32'));

    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.retryable).toBe(false);
    expect(error.serverMessage).toBe('too many inputs in one request: 64, the limit is 32');
    expect(error.message).toContain('HTTP 413');
  });

  it.each([
    [400, 'Input validation error: inputs must have less than 512 tokens. Given: 700'],
    [422, 'batch size 64 > maximum allowed batch size 32'],
    [400, "This model's maximum context length is 8192 tokens"],
    [400, 'input is too long'],
    [422, JSON.stringify({ detail: [{ msg: 'ensure this value has at most 2048 items (size limit)' }] })],
  ])('maps %d about size or length (%s) to a PayloadTooLargeError', (status, message) => {
    // Act
    const error = failed(status, message.startsWith('{') ? message : openAiError(message));

    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
  });

  it('maps 429 to a retryable RateLimitError with the Retry-After in ms', () => {
    // Act
    const error = failed(429, openAiError('Rate limit reached'), { 'retry-after': '2' });

    // Assess
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.status).toBe(429);
  });

  it.each([408, 409, 425, 500, 502, 503, 504])('maps %d to a retryable TransientEndpointError', (status) => {
    // Act
    const error = failed(status, '<html><head><title>502 Bad Gateway</title></head></html>');

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.retryable).toBe(true);
    expect(error.status).toBe(status);
  });

  it('keeps the Retry-After of a 503', () => {
    // Act
    const error = failed(503, '', { 'retry-after-ms': '1200' });

    // Assess
    expect(error.retryAfterMs).toBe(1200);
  });

  it.each([400, 405, 415, 422])('maps any other %d to a BadRequestError', (status) => {
    // Act
    const error = failed(status, openAiError("'input' must be a string or an array of strings."));

    // Assess
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain("'input' must be a string");
  });

  it.each([
    [301, 'https://new.example/v1/embeddings', 'https://new.example/v1'],
    [307, 'https://new.example/v1/models/', 'https://new.example/v1'],
    [308, 'https://new.example/openai/v1', 'https://new.example/openai/v1'],
  ])('maps a %d to a BadRequestError naming the base URL to use', (status, location, base) => {
    // Act
    const error = failed(status, '', { Location: location });

    // Assess
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `the endpoint redirects to ${location} (HTTP ${status}); use ${base} as the base URL`,
    );
  });

  it('keeps a key out of a redirect address', () => {
    // Act
    const error = failed(302, '', { Location: `https://new.example/v1/embeddings?key=${KEY}` });

    // Assess
    expect(error.message).not.toContain(KEY);
  });

  it.each([300, 304, 302])('retries a %d without a Location, as a broken proxy', (status) => {
    // Act
    const error = failed(status);

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.message).toBe(`the endpoint answered with unexpected HTTP ${status}`);
  });
});

describe('Function: serverMessageOf', () => {
  it.each([
    ['OpenAI', openAiError('boom'), 'boom'],
    [
      'TEI',
      JSON.stringify({ error: 'Input validation error', error_type: 'Validation' }),
      'Input validation error',
    ],
    ['FastAPI', JSON.stringify({ detail: 'Not authenticated' }), 'Not authenticated'],
    ['FastAPI validation', JSON.stringify({ detail: [{ msg: 'a' }, { msg: 'b' }] }), 'a; b'],
    ['plain text', '  upstream\n  connect error  ', 'upstream connect error'],
    ['an HTML page', '<html><title>502 Bad Gateway</title><body>nginx</body></html>', '502 Bad Gateway'],
  ])('reads the message of %s', (_name, body, expected) => {
    // Act
    const message = serverMessageOf(body);

    // Assess
    expect(message).toBe(expected);
  });

  it('shortens long bodies and removes bearer tokens', () => {
    // Act
    const message = serverMessageOf(`Authorization: Bearer abc.def rejected ${'x'.repeat(1000)}`);

    // Assess
    expect(message).toMatch(/^Authorization: Bearer \[redacted\] rejected x+…$/);
    expect(message?.length).toBe(300);
  });

  it('returns undefined for an empty body', () => {
    // Act
    const message = serverMessageOf('   ');

    // Assess
    expect(message).toBeUndefined();
  });
});

describe('Function: errorFromNetworkFailure', () => {
  function fetchFailed(cause: object): TypeError {
    return new TypeError('fetch failed', { cause });
  }

  it.each([
    ['ECONNRESET', fetchFailed(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))],
    ['socket hang up', fetchFailed(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))],
    [
      'UND_ERR_SOCKET',
      fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })),
    ],
    [
      'ECONNREFUSED',
      fetchFailed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })),
    ],
  ])('maps %s to a retryable TransientEndpointError counted under "network"', (code, failure) => {
    // Act
    const error = errorFromNetworkFailure(failure);

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(code === 'socket hang up' ? 'socket hang up' : code);
    // A redacted copy of the chain (name, code, message), not the failure itself with its raw fields.
    expect(error.cause).not.toBe(failure);
    expect(error.cause).toMatchObject({ name: failure.name, message: failure.message });
    expect((error.cause as Error).cause).toMatchObject({
      code: (failure.cause as { code: string }).code,
      message: (failure.cause as Error).message,
    });
    expect(statusKey(error)).toBe('network');
  });

  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9', 'connection refused'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND embeddings.invalid', 'host not found'],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN embeddings.invalid', 'host name lookup failed'],
  ])('maps %s to an UnreachableEndpointError naming the host', (code, message, what) => {
    // Act
    const error = errorFromNetworkFailure(Object.assign(new Error(message), { code }), {
      host: 'embeddings.invalid:443',
    });

    // Assess
    expect(error).toBeInstanceOf(UnreachableEndpointError);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`could not reach the endpoint at embeddings.invalid:443: ${what} (${code})`);
    expect(error).toMatchObject({ host: 'embeddings.invalid:443' });
    expect(statusKey(error)).toBe('network');
  });

  it('keeps no raw server bytes of a parser error in the cause', () => {
    // Prepare: node's HTTP parser errors carry the bytes it choked on.
    const failure = Object.assign(new Error('Parse Error: Invalid header value char'), {
      code: 'HPE_INVALID_HEADER_TOKEN',
      rawPacket: Buffer.from('X-Echo: sk-secret-token-0123456789\r\n'),
    });

    // Act
    const error = errorFromNetworkFailure(failure, { secrets: ['sk-secret-token-0123456789'] });

    // Assess
    expect(error.cause).toMatchObject({ code: 'HPE_INVALID_HEADER_TOKEN', message: failure.message });
    expect(error.cause).not.toHaveProperty('rawPacket');
  });

  it.each([
    [
      'a TimeoutError (AbortSignal.timeout)',
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    ],
    ['an AbortError', new DOMException('This operation was aborted', 'AbortError')],
    [
      'undici headers timeout',
      fetchFailed(Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' })),
    ],
  ])('maps %s to a TransientEndpointError counted under "timeout"', (_name, failure) => {
    // Act
    const error = errorFromNetworkFailure(failure, { timeoutMs: 300 });

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.message).toBe('the endpoint did not answer within 300 ms (timeout)');
    expect(statusKey(error)).toBe('timeout');
  });

  it('passes endpoint errors through unchanged', () => {
    // Prepare
    const original = new InvalidResponseError('bad', { status: 200 });

    // Act
    const error = errorFromNetworkFailure(original);

    // Assess
    expect(error).toBe(original);
  });
});

describe('Function: statusKey', () => {
  it('gives the HTTP status as text when there is one', () => {
    // Act
    const key = statusKey(new RateLimitError('slow down', { status: 429 }));

    // Assess
    expect(key).toBe('429');
  });

  it('gives "error" for something that is not an endpoint error', () => {
    // Act
    const key = statusKey(new RangeError('bug'));

    // Assess
    expect(key).toBe('error');
  });
});
