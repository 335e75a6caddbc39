import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { statusKey } from '../../lambda/embed/errorFromResponse.ts';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import {
  HttpEmbeddingsClient,
  type HttpEmbeddingsClientOptions,
} from '../../lambda/embed/HttpEmbeddingsClient.ts';
import {
  AuthenticationError,
  EncodingRefusedError,
  type EndpointError,
  InvalidResponseError,
  ModelNotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  TransientEndpointError,
} from '../../lambda/errors.ts';
import { failureOf } from './helpers/failureOf.ts';
import { sampleTexts, useLocalServers } from './helpers/localServer.ts';

const KEY = 'sk-embed-batch-test-key-0123456789';

function clientFor(url: string, options: Partial<HttpEmbeddingsClientOptions> = {}): HttpEmbeddingsClient {
  return new HttpEmbeddingsClient({ baseUrl: url, model: OFFLINE_MODEL, ...options });
}

function expectNoKey(value: unknown): void {
  expect(inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(KEY);
  if (value instanceof Error) {
    expect(JSON.stringify({ ...value, message: value.message, stack: value.stack })).not.toContain(KEY);
  }
}

describe('Class: HttpEmbeddingsClient', () => {
  const start = useLocalServers();

  it('asks for floats from then on when the endpoint refuses base64', async () => {
    // Prepare
    const server = await start({ dimensions: 16, refuseBase64: true });
    const client = clientFor(server.url);
    const texts = sampleTexts(3);

    // Act
    const refusal = await failureOf(client.embed(texts));
    const retried = await client.embed(texts);
    await client.embed(texts);

    // Assess
    expect(refusal).toBeInstanceOf(EncodingRefusedError);
    expect(refusal.retryable).toBe(true);
    expect(refusal.message).toMatch(
      /^the endpoint refused encoding_format "base64" \(HTTP 400\); asking for floats/,
    );
    expect(client.encoding).toBe('float');
    expect(retried.vectors).toEqual(texts.map((text) => featureHashEmbed(text, 16)));
    expect(server.log.map((entry) => [entry.encoding, entry.status])).toEqual([
      ['base64', 400],
      ['float', 200],
      ['float', 200],
    ]);
  });

  it('asks for base64 by default and decodes the vectors exactly', async () => {
    // Prepare
    const server = await start({ dimensions: 64 });
    const texts = sampleTexts(5);

    // Act
    const response = await clientFor(server.url).embed(texts);

    // Assess
    expect(response.vectors).toEqual(texts.map((text) => featureHashEmbed(text, 64)));
    expect(server.log[0]).toMatchObject({ encoding: 'base64', inputs: 5, status: 200 });
    expect(response.promptTokens).toBeGreaterThan(0);
    expect(response.model).toBe(OFFLINE_MODEL);
  });

  it('asks for floats when told to', async () => {
    // Prepare
    const server = await start({ dimensions: 32 });
    const texts = sampleTexts(3);

    // Act
    const response = await clientFor(server.url, { encoding: 'float' }).embed(texts);

    // Assess
    expect(response.vectors).toEqual(texts.map((text) => featureHashEmbed(text, 32)));
    expect(server.log[0]?.encoding).toBe('float');
  });

  it('decodes floats from a server that ignores the base64 it was asked for', async () => {
    // Prepare
    const server = await start({ floatsOnly: true });
    const texts = sampleTexts(4);

    // Act
    const response = await clientFor(server.url).embed(texts);

    // Assess
    expect(server.log[0]?.encoding).toBe('base64');
    expect(response.vectors).toEqual(texts.map((text) => featureHashEmbed(text, 384)));
  });

  it('puts vectors of a reverse-ordered answer back in input order', async () => {
    // Prepare
    const server = await start({ reverseOrder: true, dimensions: 16 });
    const texts = sampleTexts(6);

    // Act
    const response = await clientFor(server.url).embed(texts);

    // Assess
    expect(response.vectors).toEqual(texts.map((text) => featureHashEmbed(text, 16)));
  });

  it('sends the requested dimensions', async () => {
    // Prepare
    const server = await start();

    // Act
    const response = await clientFor(server.url, { dimensions: 48 }).embed(['hello']);

    // Assess
    expect(response.vectors).toEqual([featureHashEmbed('hello', 48)]);
  });

  it('sends the API key as a bearer token', async () => {
    // Prepare
    const server = await start({ apiKey: KEY });

    // Act
    const response = await clientFor(server.url, { apiKey: KEY }).embed(['hello']);

    // Assess
    expect(response.vectors).toHaveLength(1);
  });

  it('throws an AuthenticationError that never contains the key', async () => {
    // Prepare
    const server = await start({ apiKey: 'the-right-key' });
    const client = clientFor(server.url, { apiKey: KEY });

    // Act
    const error = await failureOf(client.embed(['hello']));

    // Assess
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toBe(
      'the endpoint refused the API key (HTTP 401); check EMBEDDINGS_API_KEY / IONOS_API_TOKEN',
    );
    expectNoKey(error);
    expectNoKey(client);
    expect(JSON.stringify(client)).not.toContain(KEY);
  });

  it('keeps the key out of every kind of failure', async () => {
    // Prepare
    const server = await start({ faults: '500,reset,hang,bad-json,wrong-count,429,413' });
    const client = clientFor(server.url, { apiKey: KEY, timeoutMs: 200 });

    // Act
    const errors: EndpointError[] = [];
    for (let i = 0; i < 7; i++) errors.push(await failureOf(client.embed(['a', 'b'])));

    // Assess
    expect(errors.map((error) => error.name)).toEqual([
      'TransientEndpointError',
      'TransientEndpointError',
      'TransientEndpointError',
      'InvalidResponseError',
      'InvalidResponseError',
      'RateLimitError',
      'PayloadTooLargeError',
    ]);
    for (const error of errors) expectNoKey(error);
  });

  it('throws a ModelNotFoundError naming the model for an unknown model', async () => {
    // Prepare
    const server = await start();

    // Act
    const error = await failureOf(clientFor(server.url, { model: 'acme/nope' }).embed(['hello']));

    // Assess
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toContain('"acme/nope"');
    expect(error.message).toContain('embed-batch models');
  });

  it.each([
    ['seconds', 1000],
    ['ms', 1000],
  ] as const)('reads a 429 with Retry-After as %s', async (retryAfter, expected) => {
    // Prepare
    const server = await start({ faults: '429', retryAfter });

    // Act
    const error = await failureOf(clientFor(server.url).embed(['hello']));

    // Assess
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(expected);
  });

  it('reads a 429 with Retry-After as an HTTP date', async () => {
    // Prepare
    const server = await start({ faults: '429', retryAfter: 'date' });

    // Act
    const error = await failureOf(clientFor(server.url).embed(['hello']));

    // Assess: the date has whole seconds, rounded up from now + 1 s.
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBeGreaterThan(900);
    expect(error.retryAfterMs).toBeLessThanOrEqual(2000);
  });

  it('throws a TransientEndpointError with the status for a 503', async () => {
    // Prepare
    const server = await start({ faults: '503' });

    // Act
    const error = await failureOf(clientFor(server.url).embed(['hello']));

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.status).toBe(503);
    expect(error.serverMessage).toContain('injected fault');
  });

  it('counts a connection reset under "network"', async () => {
    // Prepare
    const server = await start({ faults: 'reset' });

    // Act
    const error = await failureOf(clientFor(server.url).embed(['hello']));

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(statusKey(error)).toBe('network');
  });

  it('counts a refused connection under "network"', async () => {
    // Prepare
    const server = await start();
    const url = server.url;
    await server.close();

    // Act
    const error = await failureOf(clientFor(url).embed(['hello']));

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.message).toContain('ECONNREFUSED');
    expect(statusKey(error)).toBe('network');
  });

  it('gives up on a hanging request after timeoutMs, counted under "timeout"', async () => {
    // Prepare
    const server = await start({ faults: 'hang' });
    const started = performance.now();

    // Act
    const error = await failureOf(clientFor(server.url, { timeoutMs: 300 }).embed(['hello']));

    // Assess
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.message).toBe('the endpoint did not answer within 300 ms (timeout)');
    expect(statusKey(error)).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
  });

  it("rethrows the caller's abort reason instead of an endpoint error", async () => {
    // Prepare
    const server = await start({ faults: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job stopped')), 50);

    // Act
    const error = await failureOf(clientFor(server.url).embed(['hello'], controller.signal));

    // Assess
    expect(error).toEqual(new Error('job stopped'));
  });

  it.each([
    ['wrong-count', /expected 2 embeddings for 2 inputs, got 1/],
    ['nan', /not a finite number/],
    ['bad-json', /not JSON/],
  ])('throws a retryable InvalidResponseError counted under 200 for %s', async (fault, message) => {
    // Prepare
    const server = await start({ faults: fault });

    // Act
    const error = await failureOf(clientFor(server.url).embed(['a', 'b']));

    // Assess
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toMatch(message);
    expect(error.retryable).toBe(true);
    expect(statusKey(error)).toBe('200');
  });

  it('throws a PayloadTooLargeError above the server’s input limit', async () => {
    // Prepare
    const server = await start({ maxInputs: 2 });

    // Act
    const error = await failureOf(clientFor(server.url).embed(['a', 'b', 'c']));

    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error.serverMessage).toContain('the limit is 2');
  });

  it('reads x-ratelimit-* headers into hints', async () => {
    // Prepare
    const server = await start({ rps: 5, burst: 2, rateLimitHeaders: true });
    const client = clientFor(server.url);

    // Act
    await client.embed(['a']);
    const response = await client.embed(['b']);

    // Assess
    expect(response.rateLimit).toMatchObject({ limitRequests: 2, remainingRequests: 0 });
    expect(response.rateLimit?.resetRequestsMs).toBeGreaterThan(0);
  });

  it('leaves hints undefined when the server sends none', async () => {
    // Prepare
    const server = await start();

    // Act
    const response = await clientFor(server.url).embed(['a']);

    // Assess
    expect(response.rateLimit).toBeUndefined();
  });

  it('lists the models of the endpoint', async () => {
    // Prepare
    const server = await start({ models: ['a/one', 'b/two'], apiKey: KEY });

    // Act
    const models = await clientFor(`${server.url}/`, { apiKey: KEY }).listModels();

    // Assess
    expect(models).toEqual(['a/one', 'b/two']);
  });

  it('redacts the key from model ids, which `embed-batch models` prints', async () => {
    // Prepare
    const server = await start({ models: ['a/one', `echo/${KEY}`], apiKey: KEY });

    // Act
    const models = await clientFor(server.url, { apiKey: KEY }).listModels();

    // Assess
    expect(models).toEqual(['a/one', 'echo/[redacted]']);
  });

  it('maps a failed model listing like any other request', async () => {
    // Prepare
    const server = await start({ apiKey: 'other' });

    // Act
    const error = await failureOf(clientFor(server.url, { apiKey: KEY }).listModels());

    // Assess
    expect(error).toBeInstanceOf(AuthenticationError);
    expectNoKey(error);
  });

  it('uses the injected fetch', async () => {
    // Prepare
    const seen: string[] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      seen.push(`${init?.method} ${String(input)} ${new Headers(init?.headers).get('content-type')}`);
      return new Response(JSON.stringify({ data: [{ index: 0, embedding: [1, 0] }] }), { status: 200 });
    };

    // Act
    const response = await clientFor('http://example.invalid/v1/', { fetch: fakeFetch }).embed(['x']);

    // Assess
    expect(seen).toEqual(['POST http://example.invalid/v1/embeddings application/json']);
    expect(response.vectors).toEqual([new Float32Array([1, 0])]);
    // No usage in the answer: the conservative estimate, ceil(1 byte / 3) = 1.
    expect(response.promptTokens).toBe(1);
  });
});
