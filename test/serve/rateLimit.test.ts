import { afterEach, describe, expect, it } from 'vitest';
import { OFFLINE_MODEL } from '../../lambda/embed/featureHash.ts';
import { type LocalServerOptions, startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import { type ErrorBody, postEmbeddings, ServerPool } from './serveTestHelpers.ts';

const pool = new ServerPool();
const start = async (options?: LocalServerOptions) => pool.add(await startLocalServer(options));
const body = { model: OFFLINE_MODEL, input: ['alpha'] };

afterEach(async () => {
  await pool.closeAll();
});

/** Sends `count` embeddings requests one after the other; returns the responses. */
async function sendSequentially(server: { url: string }, count: number): Promise<Response[]> {
  const responses: Response[] = [];
  for (let i = 0; i < count; i++) {
    const response = await postEmbeddings(server, body);
    await response.arrayBuffer();
    responses.push(response);
  }
  return responses;
}

// Rates here are slow (a token every 2 to 10 s) so that no token comes back
// during a test, however slow the machine: outcomes depend on counts only.
describe('Function: startLocalServer', () => {
  it('answers 429 with Retry-After when over rps', async () => {
    // Prepare
    const server = await start({ rps: 0.5 });

    // Act
    const [first, second] = await sendSequentially(server, 2);

    // Assess
    expect(first!.status).toBe(200);
    expect(second!.status).toBe(429);
    // One token every 2 s, just spent: come back in 2 s, in whole seconds.
    expect(second!.headers.get('retry-after')).toBe('2');
    expect(second!.headers.get('retry-after-ms')).toBeNull();
    expect(((await postEmbeddings(server, body).then((r) => r.json())) as ErrorBody).error).toMatchObject({
      type: 'rate_limit_error',
      code: 'rate_limit_exceeded',
    });
  });

  it('answers 429 with an HTTP-date Retry-After when retryAfter is date', async () => {
    // Prepare
    const server = await start({ rps: 0.1, retryAfter: 'date' });

    // Act
    const [, refused] = await sendSequentially(server, 2);

    // Assess
    expect(refused!.status).toBe(429);
    const header = refused!.headers.get('retry-after')!;
    expect(header).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    // The wait is about 10 s; the date is rounded up to the next whole second.
    expect(Date.parse(header) - Date.now()).toBeGreaterThan(5_000);
    expect(Date.parse(header) - Date.now()).toBeLessThanOrEqual(11_000);
  });

  it('answers 429 with retry-after-ms when retryAfter is ms', async () => {
    // Prepare
    const server = await start({ rps: 0.5, retryAfter: 'ms' });

    // Act
    const [, refused] = await sendSequentially(server, 2);

    // Assess
    expect(refused!.status).toBe(429);
    expect(refused!.headers.get('retry-after')).toBeNull();
    const ms = Number(refused!.headers.get('retry-after-ms'));
    expect(Number.isInteger(ms)).toBe(true);
    expect(ms).toBeGreaterThan(1000);
    expect(ms).toBeLessThanOrEqual(2000);
  });

  it('lets a burst of requests through at once, then refuses', async () => {
    // Prepare
    const server = await start({ rps: 0.1, burst: 3 });

    // Act
    const responses = await sendSequentially(server, 5);

    // Assess
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 429, 429]);
  });

  it('counts every endpoint against the limit, models too', async () => {
    // Prepare
    const server = await start({ rps: 0.1, burst: 2 });

    // Act
    const models = await fetch(`${server.url}/models`);
    const unknown = await fetch(`${server.url}/nothing-here`);
    const embeddings = await postEmbeddings(server, body);

    // Assess
    expect(models.status).toBe(200);
    expect(unknown.status).toBe(404);
    expect(embeddings.status).toBe(429);
    expect(server.log.map((entry) => entry.status)).toEqual([429]);
    expect(server.log[0]!.inputs).toBe(0);
  });

  it('sends x-ratelimit headers when rateLimitHeaders is set', async () => {
    // Prepare
    const server = await start({ rps: 0.5, burst: 2, rateLimitHeaders: true });

    // Act
    const [first, second, third] = await sendSequentially(server, 3);

    // Assess
    expect(first!.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first!.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(second!.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(third!.status).toBe(429);
    expect(third!.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    // About 4 s until the bucket is full again, as a Go-style duration.
    expect(third!.headers.get('x-ratelimit-reset-requests')).toMatch(/^[34](\.\d{1,3})?s$/);
  });

  it('sends no x-ratelimit headers unless asked', async () => {
    // Prepare
    const server = await start({ rps: 10 });

    // Act
    const response = await postEmbeddings(server, body);

    // Assess
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBeNull();
  });

  it('reports the most accepted requests in any window, leaving 429s out', async () => {
    // Prepare
    const server = await start({ rps: 0.1, burst: 2 });

    // Act
    await sendSequentially(server, 5);

    // Assess
    expect(server.log.map((entry) => entry.status)).toEqual([200, 200, 429, 429, 429]);
    expect(server.stats.maxAcceptedInWindow(60_000)).toBe(2);
    expect(server.stats.byStatus).toEqual({ 200: 2, 429: 3 });
  });
});
