/**
 * ResilientEmbedder end to end over HTTP against `serve-local` on loopback:
 * the real client, the real limiter, real faults.
 */
import { describe, expect, it } from 'vitest';
import { type CreateEmbedderOptions, createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { AuthenticationError, ModelNotFoundError, TransientEndpointError } from '../../lambda/errors.ts';
import type { LocalServerOptions } from '../../lambda/serve/startLocalServer.ts';
import { sampleTexts, useLocalServers } from './helpers/localServer.ts';

const DIMENSIONS = 32;

describe('Class: ResilientEmbedder (over HTTP)', () => {
  const start = useLocalServers();

  async function setUp(server: LocalServerOptions, client: Partial<CreateEmbedderOptions> = {}) {
    const local = await start({ dimensions: DIMENSIONS, ...server });
    const created = createEmbedder({
      baseUrl: local.url,
      model: OFFLINE_MODEL,
      concurrency: 4,
      minTimeoutMs: 10,
      maxTimeoutMs: 50,
      ...client,
    });
    return { server: local, ...created };
  }

  function expected(texts: readonly string[]): Float32Array[] {
    return texts.map((text) => featureHashEmbed(text, DIMENSIONS));
  }

  it.each([
    ['Retry-After seconds', 'seconds'],
    ['Retry-After as an HTTP date', 'date'],
    ['retry-after-ms', 'ms'],
  ] as const)('waits out a 429 with %s, then succeeds', async (_name, retryAfter) => {
    // Prepare: the injected 429 asks for 1 s.
    const { server, embedder } = await setUp({ faults: '429', retryAfter });
    const texts = sampleTexts(4);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    const [first, second] = server.log;
    expect(result).toEqual({ vectors: expected(texts), rejected: [] });
    // An HTTP date has whole seconds: the wait is 1 s rounded to the second, minus the trip.
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(
      retryAfter === 'date' ? 900 : 1000,
    );
    expect(embedder.requests).toEqual({
      sent: 2,
      succeeded: 1,
      retried: 1,
      throttled: 1,
      failed: 0,
      byStatus: { '429': 1, '200': 1 },
    });
  });

  it('rides out a burst of 500s and 503s', async () => {
    // Prepare
    const { server, embedder } = await setUp({ faults: '500x3,503x2' });
    const texts = sampleTexts(8);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.vectors).toEqual(expected(texts));
    expect(server.stats.requests).toBe(6);
    expect(embedder.requests).toEqual({
      sent: 6,
      succeeded: 1,
      retried: 5,
      throttled: 0,
      failed: 0,
      byStatus: { '500': 3, '503': 2, '200': 1 },
    });
  });

  it('retries connection resets', async () => {
    // Prepare
    const { embedder } = await setUp({ faults: 'reset,reset' });
    const texts = sampleTexts(3);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.vectors).toEqual(expected(texts));
    expect(embedder.requests).toMatchObject({ sent: 3, retried: 2, byStatus: { network: 2, '200': 1 } });
  });

  it('gives up on a hanging request after the timeout and succeeds on the retry', async () => {
    // Prepare
    const { embedder } = await setUp({ faults: 'hang' }, { timeoutMs: 300 });
    const texts = sampleTexts(3);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.vectors).toEqual(expected(texts));
    expect(embedder.requests).toMatchObject({ sent: 2, retried: 1, byStatus: { timeout: 1, '200': 1 } });
  });

  it.each(['wrong-count', 'nan', 'bad-json'])('retries a 200 with %s and succeeds', async (fault) => {
    // Prepare
    const { embedder } = await setUp({ faults: fault });
    const texts = sampleTexts(5);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.vectors).toEqual(expected(texts));
    expect(embedder.requests).toMatchObject({ sent: 2, succeeded: 1, retried: 1, byStatus: { '200': 2 } });
  });

  it('splits batches over the server’s input limit and gets every vector right', async () => {
    // Prepare
    const { server, embedder } = await setUp({ maxInputs: 4 });
    const texts = sampleTexts(13);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result).toEqual({ vectors: expected(texts), rejected: [] });
    expect(server.log.filter((entry) => entry.status === 200).every((entry) => entry.inputs <= 4)).toBe(true);
    expect(embedder.requests.byStatus['413']).toBeGreaterThan(0);
    expect(embedder.requests.failed).toBe(0);
    expect(embedder.requests.retried).toBe(embedder.requests.byStatus['413']);
    expect(embedder.requests.succeeded).toBe(embedder.requests.byStatus['200']);
  });

  it('rejects an input too long even alone, with the server’s reason, and embeds the rest', async () => {
    // Prepare
    const { embedder } = await setUp({ maxInputChars: 100 });
    const texts = sampleTexts(6);
    texts[4] = 'long '.repeat(40);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]?.index).toBe(4);
    expect(result.rejected[0]?.reason).toContain('too long');
    expect(result.vectors[4]).toBeUndefined();
    const kept = texts.filter((_, i) => i !== 4);
    expect(result.vectors.filter((_, i) => i !== 4)).toEqual(expected(kept));
  });

  it('decodes floats from a server that ignores base64, and reverse-ordered answers', async () => {
    // Prepare
    const { embedder } = await setUp({ floatsOnly: true, reverseOrder: true });
    const texts = sampleTexts(7);

    // Act
    const result = await embedder.embedBatch(texts);

    // Assess
    expect(result.vectors).toEqual(expected(texts));
    expect(embedder.dimensions).toBe(DIMENSIONS);
  });

  it('fails with an AuthenticationError after exactly one request', async () => {
    // Prepare
    const { server, embedder } = await setUp({ apiKey: 'right' }, { apiKey: 'wrong-key-abcdef' });

    // Act
    const embedding = embedder.embedBatch(sampleTexts(2));

    // Assess
    await expect(embedding).rejects.toThrow(AuthenticationError);
    expect(server.stats.requests).toBe(1);
    expect(embedder.requests).toMatchObject({ sent: 1, failed: 1, retried: 0, byStatus: { '401': 1 } });
  });

  it('fails with a ModelNotFoundError after exactly one request', async () => {
    // Prepare
    const { server, embedder } = await setUp({}, { model: 'acme/unknown' });

    // Act
    const embedding = embedder.embedBatch(sampleTexts(2));

    // Assess
    await expect(embedding).rejects.toThrow(ModelNotFoundError);
    await expect(embedding).rejects.toThrow('embed-batch models');
    expect(server.stats.requests).toBe(1);
    expect(embedder.requests).toMatchObject({ sent: 1, failed: 1, byStatus: { '404': 1 } });
  });

  it('fails with a clear message when the endpoint stays down past the retries', async () => {
    // Prepare
    const { server, embedder } = await setUp({ faults: '503x10' }, { retries: 3 });

    // Act
    const embedding = embedder.embedBatch(sampleTexts(2));

    // Assess
    await expect(embedding).rejects.toThrow(TransientEndpointError);
    await expect(embedding).rejects.toThrow(/^gave up after 4 attempts: the endpoint failed \(HTTP 503\)/);
    expect(server.stats.requests).toBe(4);
    expect(embedder.requests).toMatchObject({ sent: 4, retried: 3, failed: 1 });
  });

  it('remembers the input count a server takes after a 413, so later batches are not refused again', async () => {
    // Prepare
    const { server, embedder } = await setUp({ maxInputs: 5 });
    const batch = (n: number) => sampleTexts(16, `batch ${n}`);

    // Act
    const first = await embedder.embedBatch(batch(1));
    const refusedAfterFirst = server.stats.byStatus['413'] ?? 0;
    const later = [await embedder.embedBatch(batch(2)), await embedder.embedBatch(batch(3))];

    // Assess
    expect(first.vectors).toEqual(expected(batch(1)));
    expect(later.map((r) => r.vectors)).toEqual([expected(batch(2)), expected(batch(3))]);
    expect(refusedAfterFirst).toBeGreaterThan(0);
    expect(server.stats.byStatus['413']).toBe(refusedAfterFirst);
    expect(server.stats.requests - refusedAfterFirst).toBe(4 * 3);
  });

  it('does not shrink batches for good after one input was too long on its own', async () => {
    // Prepare
    const { server, embedder } = await setUp({ maxInputChars: 50 });
    const texts = [...sampleTexts(7, 'short'), 'x'.repeat(60)];

    // Act
    const first = await embedder.embedBatch(texts);
    const requestsAfterFirst = server.stats.requests;
    const next = await embedder.embedBatch(sampleTexts(8, 'next'));

    // Assess
    expect(first.rejected.map((r) => r.index)).toEqual([7]);
    expect(next.vectors).toEqual(expected(sampleTexts(8, 'next')));
    expect(server.stats.requests).toBe(requestsAfterFirst + 1);
  });

  it('keeps to a rate-limited server at the matching rate, evenly paced: no 429', async () => {
    // Prepare
    const { server, embedder } = await setUp({ rps: 5, burst: 5 }, { rps: 5, concurrency: 8 });
    const batches = Array.from({ length: 18 }, (_, i) => sampleTexts(3, `batch ${i}`));

    // Act
    const results = await Promise.all(batches.map((texts) => embedder.embedBatch(texts)));

    // Assess
    expect(results.map((result) => result.vectors)).toEqual(batches.map(expected));
    expect(embedder.requests).toMatchObject({ sent: 18, succeeded: 18, failed: 0, throttled: 0 });
    expect(server.stats.byStatus['429']).toBeUndefined();
    // One every 200 ms: five in a second, six at most where arrival jitter bunches two.
    expect(server.stats.maxAcceptedInWindow(1000)).toBeLessThanOrEqual(6);
  });

  it('adapts to a rate-limited server with no fixed rate of its own', async () => {
    // Prepare: no client rps; the server allows 5/s with a burst of 5 and says so in headers.
    const { server, embedder, limiter } = await setUp(
      { rps: 5, burst: 5, rateLimitHeaders: true, retryAfter: 'ms' },
      { concurrency: 8 },
    );
    const batches = Array.from({ length: 12 }, (_, i) => sampleTexts(2, `batch ${i}`));

    // Act
    const results = await Promise.all(batches.map((texts) => embedder.embedBatch(texts)));

    // Assess
    expect(results.map((result) => result.vectors)).toEqual(batches.map(expected));
    expect(embedder.requests.failed).toBe(0);
    expect(embedder.requests.succeeded).toBe(12);
    expect(embedder.requests.throttled).toBe(server.stats.byStatus['429'] ?? 0);
    expect(embedder.requests.sent).toBe(server.stats.requests);
    // A throttled start halves the concurrency limit.
    if (embedder.requests.throttled > 0) expect(limiter.concurrencyLimit).toBeLessThan(8);
  });
});
