import { describe, expect, it } from 'vitest';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import { RateLimiter } from '../../lambda/embed/RateLimiter.ts';
import type { RetryEvent } from '../../lambda/embed/ResilientEmbedder.ts';
import { ResilientEmbedder, type ResilientEmbedderOptions } from '../../lambda/embed/ResilientEmbedder.ts';
import {
  AuthenticationError,
  BadRequestError,
  EncodingRefusedError,
  InvalidResponseError,
  ModelNotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  TransientEndpointError,
  UnreachableEndpointError,
} from '../../lambda/errors.ts';
import { ScriptedTransport, type Step } from './helpers/ScriptedTransport.ts';

const TEXTS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

function embedderWith(steps: Step[], options: ResilientEmbedderOptions = {}) {
  const transport = new ScriptedTransport(steps);
  const limiter = new RateLimiter({ maxConcurrency: 4 });
  const embedder = new ResilientEmbedder(transport, limiter, {
    minTimeoutMs: 1,
    maxTimeoutMs: 5,
    ...options,
  });
  return { transport, limiter, embedder };
}

function expected(texts: readonly string[], dimensions = 8): Float32Array[] {
  return texts.map((text) => featureHashEmbed(text, dimensions));
}

describe('Class: ResilientEmbedder', () => {
  it('embeds a batch in one request and counts it', async () => {
    // Prepare
    const { embedder, transport } = embedderWith([]);

    // Act
    const result = await embedder.embedBatch(TEXTS);

    // Assess
    expect(result).toEqual({ vectors: expected(TEXTS), rejected: [] });
    expect(transport.calls).toHaveLength(1);
    expect(embedder.requests).toEqual({
      sent: 1,
      succeeded: 1,
      retried: 0,
      throttled: 0,
      failed: 0,
      byStatus: { '200': 1 },
    });
    expect(embedder.tokens).toEqual({ prompt: 10, total: 15 });
    expect(embedder.dimensions).toBe(8);
  });

  it('answers an empty batch without a request', async () => {
    // Prepare
    const { embedder, transport } = embedderWith([]);

    // Act
    const result = await embedder.embedBatch([]);

    // Assess
    expect(result).toEqual({ vectors: [], rejected: [] });
    expect(transport.calls).toHaveLength(0);
  });

  it('retries retryable errors and counts each attempt by status', async () => {
    // Prepare
    const timeout = new TransientEndpointError(
      'timed out',
      {},
      { cause: new DOMException('t', 'TimeoutError') },
    );
    const { embedder } = embedderWith([
      new TransientEndpointError('boom', { status: 503 }),
      new RateLimitError('slow down', { status: 429 }),
      timeout,
      new InvalidResponseError('wrong count', { status: 200 }),
    ]);

    // Act
    const result = await embedder.embedBatch(TEXTS);

    // Assess
    expect(result.vectors).toEqual(expected(TEXTS));
    expect(embedder.requests).toEqual({
      sent: 5,
      succeeded: 1,
      retried: 4,
      throttled: 1,
      failed: 0,
      byStatus: { '503': 1, '429': 1, timeout: 1, '200': 2 },
    });
    expect(embedder.retries).toBe(4);
  });

  it.each([
    ['AuthenticationError', new AuthenticationError('no', { status: 401 })],
    ['ModelNotFoundError', new ModelNotFoundError('no', { status: 404 })],
    ['BadRequestError', new BadRequestError('no', { status: 400 })],
  ])('fails at once on a %s', async (_name, error) => {
    // Prepare
    const { embedder, transport } = embedderWith([error]);

    // Act
    const embedding = embedder.embedBatch(TEXTS);

    // Assess
    await expect(embedding).rejects.toBe(error);
    expect(transport.calls).toHaveLength(1);
    expect(embedder.requests).toMatchObject({ sent: 1, succeeded: 0, retried: 0, failed: 1 });
  });

  it('throws the last error, same class, once the retry budget is spent', async () => {
    // Prepare
    const failures = Array.from(
      { length: 10 },
      () => new TransientEndpointError('HTTP 500', { status: 500 }),
    );
    const { embedder, transport } = embedderWith(failures, { retries: 3 });

    // Act
    const embedding = embedder.embedBatch(TEXTS);

    // Assess
    await expect(embedding).rejects.toThrow(TransientEndpointError);
    await expect(embedding).rejects.toThrow('gave up after 4 attempts: HTTP 500');
    await expect(embedding).rejects.toMatchObject({ status: 500 });
    expect(transport.calls).toHaveLength(4);
    expect(embedder.requests).toMatchObject({ sent: 4, retried: 3, failed: 1, byStatus: { '500': 4 } });
  });

  it('waits out a Retry-After in full, by pausing the shared limiter', async () => {
    // Prepare
    const { embedder, limiter } = embedderWith([
      new RateLimitError('slow down', { status: 429, retryAfterMs: 200 }),
    ]);
    const started = performance.now();

    // Act
    const embedding = embedder.embedBatch(TEXTS);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pausedDuringRetry = limiter.pausedForMs;
    await embedding;

    // Assess
    expect(pausedDuringRetry).toBeGreaterThan(100);
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
  });

  it('fails at once, saying why, on a Retry-After longer than maxRetryWaitMs, and leaves the limiter unpaused', async () => {
    // Prepare
    const { embedder, limiter, transport } = embedderWith(
      [
        new RateLimitError('the endpoint is rate limiting requests (HTTP 429)', {
          status: 429,
          retryAfterMs: 999_999_000,
        }),
      ],
      { maxRetryWaitMs: 300_000 },
    );

    // Act
    const error = await embedder.embedBatch(TEXTS).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as Error).message).toBe(
      'the endpoint asked to wait 999999 s before trying again, longer than the 300 s allowed (--max-retry-wait): the endpoint is rate limiting requests (HTTP 429)',
    );
    expect(transport.calls).toHaveLength(1);
    expect(limiter.pausedForMs).toBe(0);
    expect(embedder.requests).toMatchObject({ sent: 1, retried: 0, failed: 1, throttled: 1 });
  });

  it('gives up once the waits of one request would pass maxRetryWaitMs', async () => {
    // Prepare: each 503 asks for 40 ms; 100 ms of waiting allows two retries, not a third.
    const failures = Array.from(
      { length: 10 },
      () => new TransientEndpointError('the endpoint failed (HTTP 503)', { status: 503, retryAfterMs: 40 }),
    );
    const { embedder, transport } = embedderWith(failures, { maxRetryWaitMs: 100 });

    // Act
    const error = await embedder.embedBatch(TEXTS).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect((error as Error).message).toBe(
      'gave up after 3 attempts and 0.1 s of waiting (--max-retry-wait 0.1 s): the endpoint failed (HTTP 503)',
    );
    expect(transport.calls).toHaveLength(3);
  });

  it('tries an unreachable endpoint only unreachableAttempts times', async () => {
    // Prepare
    const refused = () =>
      new UnreachableEndpointError(
        'could not reach the endpoint at 127.0.0.1:9: connection refused (ECONNREFUSED)',
        {
          host: '127.0.0.1:9',
        },
      );
    const { embedder, transport } = embedderWith(Array.from({ length: 10 }, refused));

    // Act
    const error = await embedder.embedBatch(TEXTS).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(UnreachableEndpointError);
    expect(error).toMatchObject({
      host: '127.0.0.1:9',
      message:
        'gave up after 3 attempts: could not reach the endpoint at 127.0.0.1:9: connection refused (ECONNREFUSED)',
    });
    expect(transport.calls).toHaveLength(3);
  });

  it('retries a refused encoding at once and tells onRetry every wait and attempt count', async () => {
    // Prepare
    const events: RetryEvent[] = [];
    const { embedder, transport } = embedderWith(
      [
        new EncodingRefusedError('refused base64', { status: 400 }),
        new TransientEndpointError('HTTP 503', { status: 503, retryAfterMs: 30 }),
      ],
      { onRetry: (event) => events.push(event) },
    );

    // Act
    const result = await embedder.embedBatch(TEXTS);

    // Assess
    expect(result.vectors).toHaveLength(TEXTS.length);
    expect(transport.calls).toHaveLength(3);
    expect(events.map(({ attempt, maxAttempts, delayMs }) => ({ attempt, maxAttempts, delayMs }))).toEqual([
      { attempt: 1, maxAttempts: 9, delayMs: 0 },
      // The Retry-After, longer than the backoff (capped at maxTimeoutMs, 5 ms here).
      { attempt: 2, maxAttempts: 9, delayMs: 30 },
    ]);
  });

  it('goes straight to the input limit a 413 states', async () => {
    // Prepare: the server takes at most 2 inputs per request, and says so.
    const tooMany = (texts: readonly string[]) =>
      texts.length > 2
        ? new PayloadTooLargeError('too many', { status: 413, serverMessage: 'max 2 inputs per request' })
        : undefined;
    const { embedder, transport } = embedderWith(Array.from({ length: 10 }, () => tooMany));

    // Act
    const result = await embedder.embedBatch(TEXTS);

    // Assess
    expect(result).toEqual({ vectors: expected(TEXTS), rejected: [] });
    expect(transport.calls.map((call) => call.length)).toEqual([5, 2, 2, 1]);
    expect(embedder.maxInputs).toBe(2);
  });

  it('splits a batch refused as too large into halves until they pass', async () => {
    // Prepare: the server takes at most 2 inputs per request, and does not say so.
    const tooMany = (texts: readonly string[]) =>
      texts.length > 2
        ? new PayloadTooLargeError('too many', { status: 413, serverMessage: 'too many inputs' })
        : undefined;
    const { embedder, transport } = embedderWith(Array.from({ length: 10 }, () => tooMany));

    // Act
    const result = await embedder.embedBatch(TEXTS);

    // Assess
    expect(result).toEqual({ vectors: expected(TEXTS), rejected: [] });
    expect(transport.calls.map((call) => call.length).sort()).toEqual([1, 2, 2, 3, 5]);
    expect(embedder.requests).toMatchObject({ sent: 5, succeeded: 3, failed: 0, retried: 2 });
    expect(embedder.requests.byStatus).toEqual({ '413': 2, '200': 3 });
  });

  it('rejects an input the server refuses even alone and embeds the rest', async () => {
    // Prepare
    const refuseLong = (texts: readonly string[]) =>
      texts.some((text) => text.length > 10)
        ? new PayloadTooLargeError('too long', { status: 413, serverMessage: 'input is too long: 30 chars' })
        : undefined;
    const texts = ['one', 'two', 'x'.repeat(30), 'four', 'five'];
    const { embedder } = embedderWith(Array.from({ length: 20 }, () => refuseLong));

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.rejected).toEqual([{ index: 2, reason: 'input is too long: 30 chars' }]);
    expect(result.vectors[2]).toBeUndefined();
    expect(result.vectors.filter((_, i) => i !== 2)).toEqual(expected(['one', 'two', 'four', 'five']));
    // 5 -> 3 + 2 and 3 -> 2 + 1: two splits (retried), two passes, one refusal alone (failed).
    expect(embedder.requests).toMatchObject({ sent: 5, succeeded: 2, retried: 2, failed: 1 });
  });

  it('learns the dimension from the first answer and retries an answer of another dimension', async () => {
    // Prepare
    const { embedder } = embedderWith([{ dimensions: 8 }, { dimensions: 4 }]);
    await embedder.embedBatch(['first']);

    // Act
    const result = await embedder.embedBatch(['second']);

    // Assess
    expect(embedder.dimensions).toBe(8);
    expect(result.vectors).toEqual(expected(['second']));
    expect(embedder.requests).toMatchObject({ sent: 3, succeeded: 2, retried: 1, byStatus: { '200': 3 } });
  });

  it('refuses answers of another dimension than the one given up front', async () => {
    // Prepare
    const { embedder } = embedderWith([], { dimensions: 16, retries: 1 });

    // Act
    const embedding = embedder.embedBatch(['text']);

    // Assess
    await expect(embedding).rejects.toThrow(InvalidResponseError);
    await expect(embedding).rejects.toThrow(
      'gave up after 2 attempts: the endpoint sent vectors of 8 dimensions, expected 16',
    );
  });

  it('stops retrying when its signal aborts', async () => {
    // Prepare
    const controller = new AbortController();
    const failures = Array.from(
      { length: 10 },
      () => new TransientEndpointError('HTTP 500', { status: 500 }),
    );
    const { embedder, transport } = embedderWith(failures, { minTimeoutMs: 50, maxTimeoutMs: 50 });

    // Act
    const embedding = embedder.embedBatch(TEXTS, controller.signal);
    setTimeout(() => controller.abort(new Error('job stopped')), 10);

    // Assess
    await expect(embedding).rejects.toThrow('job stopped');
    expect(transport.calls).toHaveLength(1);
  });

  it('stops every batch when the signal it was built with aborts', async () => {
    // Prepare
    const controller = new AbortController();
    const failures = Array.from(
      { length: 10 },
      () => new TransientEndpointError('HTTP 500', { status: 500 }),
    );
    const { embedder } = embedderWith(failures, {
      minTimeoutMs: 50,
      maxTimeoutMs: 50,
      signal: controller.signal,
    });

    // Act
    const embeddings = [embedder.embedBatch(['a']), embedder.embedBatch(['b'])];
    setTimeout(() => controller.abort(new Error('lambda out of time')), 10);

    // Assess
    for (const embedding of embeddings) await expect(embedding).rejects.toThrow('lambda out of time');
  });

  it.each([
    [{ retries: -1 }, 'Expected `retries` to be a non-negative integer, got -1'],
    [{ minTimeoutMs: 1.5 }, 'Expected `minTimeoutMs` to be a non-negative integer, got 1.5'],
    [{ dimensions: 0 }, 'Expected `dimensions` to be a positive integer, got 0'],
  ])('refuses the options %j', (options, message) => {
    // Act
    const act = () => new ResilientEmbedder(new ScriptedTransport(), new RateLimiter(), options);

    // Assess
    expect(act).toThrow(message);
  });
});
