import { afterEach, describe, expect, it } from 'vitest';
import { featureHashEmbed, OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServerOptions, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import {
  decodeBase64,
  type EmbeddingsBody,
  type ErrorBody,
  postEmbeddings,
  ServerPool,
} from './serveTestHelpers.ts';

const pool = new ServerPool();
const start = async (options?: LocalServerOptions) => pool.add(await startLocalServer(options));
const body = { model: OFFLINE_MODEL, input: ['alpha', 'beta', 'gamma'] };

afterEach(async () => {
  await pool.closeAll();
});

/** Resolves once the server has logged `count` embeddings requests. */
async function waitForLog(server: { log: readonly unknown[] }, count: number): Promise<void> {
  while (server.log.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('Function: startLocalServer', () => {
  it('answers the scripted statuses in order, then serves normally', async () => {
    // Prepare
    const server = await start({ faults: '500x2,503' });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await postEmbeddings(server, body)).status);

    // Assess
    expect(statuses).toEqual([500, 500, 503, 200]);
    expect(server.log.map((entry) => entry.status)).toEqual([500, 500, 503, 200]);
    expect(server.stats.byStatus).toEqual({ 200: 1, 500: 2, 503: 1 });
  });

  it('answers an injected status with an OpenAI-style JSON error body', async () => {
    // Prepare
    const server = await start({ faults: '503' });

    // Act
    const response = await postEmbeddings(server, body);
    const answer = (await response.json()) as ErrorBody;

    // Assess
    expect(answer.error).toMatchObject({ type: 'server_error', code: 'injected_fault' });
    expect(answer.error.message).toContain('503');
  });

  it('answers an injected 429 with the configured retry header', async () => {
    // Prepare
    const seconds = await start({ faults: '429' });
    const ms = await start({ faults: '429', retryAfter: 'ms' });

    // Act
    const bySeconds = await postEmbeddings(seconds, body);
    const byMs = await postEmbeddings(ms, body);

    // Assess
    expect(bySeconds.status).toBe(429);
    expect(bySeconds.headers.get('retry-after')).toBe('1');
    expect(byMs.status).toBe(429);
    expect(byMs.headers.get('retry-after-ms')).toBe('1000');
    expect(byMs.headers.get('retry-after')).toBeNull();
  });

  it('resets the socket without answering for reset', async () => {
    // Prepare
    const server = await start({ faults: 'reset' });

    // Act
    const reset = postEmbeddings(server, body);

    // Assess
    await expect(reset).rejects.toThrow();
    expect((await postEmbeddings(server, body)).status).toBe(200);
    expect(server.log.map((entry) => entry.status)).toEqual(['reset', 200]);
  });

  it('never answers for hang, so a client timeout fires', async () => {
    // Prepare
    const server = await start({ faults: 'hang' });

    // Act
    const hung = postEmbeddings(server, body, { signal: AbortSignal.timeout(200) });

    // Assess
    await expect(hung).rejects.toThrow();
    expect(server.log.map((entry) => entry.status)).toEqual(['hang']);
    expect((await postEmbeddings(server, body)).status).toBe(200);
  });

  it('closes promptly while a request hangs, and the hanging client sees the socket end', async () => {
    // Prepare
    const server = await start({ faults: 'hang' });
    const hung = postEmbeddings(server, body);
    hung.catch(() => undefined);
    await waitForLog(server, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    // Act
    const closed = server.close();
    const outcome = await Promise.race([
      closed.then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 2000, 'still open')),
    ]);

    // Assess
    expect(outcome).toBe('closed');
    await expect(hung).rejects.toThrow();
  });

  it('closes promptly while a request waits out its latency', async () => {
    // Prepare
    const server = await start({ latencyMs: 60_000 });
    const waiting = postEmbeddings(server, body);
    waiting.catch(() => undefined);
    await waitForLog(server, 1);

    // Act
    const outcome = await Promise.race([
      server.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 2000, 'still open')),
    ]);

    // Assess
    expect(outcome).toBe('closed');
    await expect(waiting).rejects.toThrow();
  });

  it('answers 200 with one embedding missing for wrong-count', async () => {
    // Prepare
    const server = await start({ faults: 'wrong-count' });

    // Act
    const response = await postEmbeddings(server, body);
    const answer = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(response.status).toBe(200);
    expect(answer.data.map((item) => item.index)).toEqual([0, 1]);
    expect(server.stats.embeddedInputs).toBe(2);
  });

  it('drops the last input, not the first answered, for wrong-count with reverseOrder', async () => {
    // Prepare
    const server = await start({ faults: 'wrong-count', reverseOrder: true });

    // Act
    const answer = (await (await postEmbeddings(server, body)).json()) as EmbeddingsBody;

    // Assess
    expect(answer.data.map((item) => item.index)).toEqual([1, 0]);
  });

  it('answers 200 with a null in a float vector for nan', async () => {
    // Prepare
    const server = await start({ faults: 'nan' });

    // Act
    const answer = (await (await postEmbeddings(server, body)).json()) as EmbeddingsBody;

    // Assess
    const first = answer.data[0]!.embedding as (number | null)[];
    expect(first[0]).toBeNull();
    expect(Float32Array.from(first.slice(1) as number[])).toEqual(featureHashEmbed('alpha').subarray(1));
    expect(Float32Array.from(answer.data[1]!.embedding as number[])).toEqual(featureHashEmbed('beta'));
  });

  it('answers 200 with a NaN in a base64 vector for nan', async () => {
    // Prepare
    const server = await start({ faults: 'nan' });

    // Act
    const response = await postEmbeddings(server, { ...body, encoding_format: 'base64' });
    const answer = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(Number.isNaN(decodeBase64(answer.data[0]!.embedding as string)[0])).toBe(true);
  });

  it('answers 200 with a truncated JSON body for bad-json', async () => {
    // Prepare
    const server = await start({ faults: 'bad-json' });

    // Act
    const response = await postEmbeddings(server, body);
    const text = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(text.startsWith('{"object":"list"')).toBe(true);
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(server.stats.embeddedInputs).toBe(0);
  });

  it('gives every Nth request the faultEvery fault, counting from 1', async () => {
    // Prepare
    const server = await start({ faultEvery: { every: 3, kind: '503' } });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await postEmbeddings(server, body)).status);

    // Assess
    expect(statuses).toEqual([200, 200, 503, 200, 200, 503, 200]);
  });

  it('lets the script win when the script and faultEvery claim the same request', async () => {
    // Prepare
    const server = await start({ faults: '500x2', faultEvery: { every: 2, kind: 'wrong-count' } });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await postEmbeddings(server, body)).status);

    // Assess
    expect(statuses).toEqual([500, 500, 200, 200]);
    expect(server.stats.embeddedInputs).toBe(3 + 2);
  });

  it('gives exactly the scripted number of faults to concurrent requests', async () => {
    // Prepare
    const server = await start({ faults: '500x3' });

    // Act
    const responses = await Promise.all(Array.from({ length: 8 }, () => postEmbeddings(server, body)));

    // Assess
    expect(responses.filter((response) => response.status === 500)).toHaveLength(3);
    expect(responses.filter((response) => response.status === 200)).toHaveLength(5);
  });

  it('counts faults only among requests past the gateway (rate limit and key check)', async () => {
    // Prepare
    const server = await start({ faults: '500', apiKey: 'k' });
    const authorized = { headers: { authorization: 'Bearer k' } };

    // Act
    const statuses = [
      (await postEmbeddings(server, body)).status,
      (await postEmbeddings(server, body, authorized)).status,
      (await postEmbeddings(server, body, authorized)).status,
    ];

    // Assess
    expect(statuses).toEqual([401, 500, 200]);
    expect(server.log.map((entry) => entry.seq)).toEqual([1, 2, 3]);
  });
});
