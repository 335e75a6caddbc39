import { afterEach, describe, expect, it } from 'vitest';
import {
  featureHashEmbed,
  OFFLINE_DEFAULT_DIMENSIONS,
  OFFLINE_MODEL,
} from '../../lambda/embed/featureHash.ts';
import { OfflineTransport } from '../../lambda/embed/OfflineTransport.ts';
import { ConfigError } from '../../lambda/errors.ts';
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

afterEach(async () => {
  await pool.closeAll();
});

describe('Function: startLocalServer', () => {
  it('lists the served models on GET /v1/models', async () => {
    // Prepare
    const server = await start({ models: [OFFLINE_MODEL, 'BAAI/bge-m3'] });

    // Act
    const response = await fetch(`${server.url}/models`);
    const body = (await response.json()) as { object: string; data: Record<string, unknown>[] };

    // Assess
    expect(response.status).toBe(200);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/v1`);
    expect(body.object).toBe('list');
    expect(body.data.map((model) => model.id)).toEqual([OFFLINE_MODEL, 'BAAI/bge-m3']);
    expect(body.data[0]).toMatchObject({
      object: 'model',
      owned_by: 'embed-batch',
      created: expect.any(Number),
    });
  });

  it('answers float embeddings that are exactly featureHashEmbed of each input', async () => {
    // Prepare
    const server = await start();
    const inputs = ['Red cotton T-shirt, size M', 'blue jeans', '¿Dónde está la biblioteca?', '!!!'];

    // Act
    const response = await postEmbeddings(server, { model: OFFLINE_MODEL, input: inputs });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(body).toMatchObject({ object: 'list', model: OFFLINE_MODEL });
    expect(body.data.map((item) => item.index)).toEqual([0, 1, 2, 3]);
    body.data.forEach((item, i) => {
      expect(item.object).toBe('embedding');
      expect(Array.isArray(item.embedding)).toBe(true);
      expect(Float32Array.from(item.embedding as number[])).toEqual(
        featureHashEmbed(inputs[i]!, OFFLINE_DEFAULT_DIMENSIONS),
      );
    });
  });

  it('answers base64 embeddings that decode to exactly featureHashEmbed of each input', async () => {
    // Prepare
    const server = await start();
    const inputs = ['first text', 'second text with more words'];

    // Act
    const response = await postEmbeddings(server, {
      model: OFFLINE_MODEL,
      input: inputs,
      encoding_format: 'base64',
    });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(response.status).toBe(200);
    body.data.forEach((item, i) => {
      expect(typeof item.embedding).toBe('string');
      expect(decodeBase64(item.embedding as string)).toEqual(
        featureHashEmbed(inputs[i]!, OFFLINE_DEFAULT_DIMENSIONS),
      );
    });
  });

  it('accepts a single string as input', async () => {
    // Prepare
    const server = await start();

    // Act
    const response = await postEmbeddings(server, { model: OFFLINE_MODEL, input: 'just one' });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(body.data).toHaveLength(1);
    expect(Float32Array.from(body.data[0]!.embedding as number[])).toEqual(featureHashEmbed('just one'));
  });

  it('uses the dimensions option, and a request dimensions field over it', async () => {
    // Prepare
    const server = await start({ dimensions: 64 });

    // Act
    const byDefault = (await (
      await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a b'] })
    ).json()) as EmbeddingsBody;
    const overridden = (await (
      await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a b'], dimensions: 16 })
    ).json()) as EmbeddingsBody;

    // Assess
    expect(Float32Array.from(byDefault.data[0]!.embedding as number[])).toEqual(featureHashEmbed('a b', 64));
    expect(Float32Array.from(overridden.data[0]!.embedding as number[])).toEqual(featureHashEmbed('a b', 16));
  });

  it('reports usage with the one token estimate the batcher and the offline embedder use', async () => {
    // Prepare
    const server = await start();

    // Act
    const response = await postEmbeddings(server, {
      model: OFFLINE_MODEL,
      input: ['Hello, world!!', '...', 'one'],
    });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    // ceil(UTF-8 bytes / 3), at least 1: 14 bytes -> 5, 3 -> 1, 3 -> 1.
    expect(body.usage).toEqual({ prompt_tokens: 5 + 1 + 1, total_tokens: 7 });
    const offline = await new OfflineTransport().embed(['Hello, world!!', '...', 'one']);
    expect(offline.promptTokens).toBe(7);
  });

  it('answers 401 without the right API key, and 200 with it, on every endpoint', async () => {
    // Prepare
    const server = await start({ apiKey: 'sekret' });
    const body = { model: OFFLINE_MODEL, input: ['x'] };

    // Act
    const missing = await postEmbeddings(server, body);
    const wrong = await postEmbeddings(server, body, { headers: { authorization: 'Bearer nope' } });
    const models = await fetch(`${server.url}/models`);
    const right = await postEmbeddings(server, body, { headers: { authorization: 'Bearer sekret' } });

    // Assess
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as ErrorBody).error).toMatchObject({ code: 'invalid_api_key' });
    expect(wrong.status).toBe(401);
    expect(models.status).toBe(401);
    expect(right.status).toBe(200);
    expect(server.log.map((entry) => entry.status)).toEqual([401, 401, 200]);
  });

  it('answers 404 naming the model for an unknown model', async () => {
    // Prepare
    const server = await start();

    // Act
    const response = await postEmbeddings(server, { model: 'gpt-unknown', input: ['x'] });
    const body = (await response.json()) as ErrorBody;

    // Assess
    expect(response.status).toBe(404);
    expect(body.error.message).toBe("model 'gpt-unknown' not found");
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
  });

  it('serves every configured model id with the same offline vectors', async () => {
    // Prepare
    const server = await start({ models: [OFFLINE_MODEL, 'BAAI/bge-m3'] });

    // Act
    const response = await postEmbeddings(server, { model: 'BAAI/bge-m3', input: ['x y'] });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(body.model).toBe('BAAI/bge-m3');
    expect(Float32Array.from(body.data[0]!.embedding as number[])).toEqual(featureHashEmbed('x y'));
  });

  it('answers 404 for unknown paths and 405 for the wrong method', async () => {
    // Prepare
    const server = await start();
    const base = server.url.replace(/\/v1$/, '');

    // Act
    const unprefixed = await fetch(`${base}/embeddings`, { method: 'POST', body: '{}' });
    const unknown = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: '{}' });
    const getEmbeddings = await fetch(`${server.url}/embeddings`);
    const postModels = await fetch(`${server.url}/models`, { method: 'POST', body: '{}' });

    // Assess
    expect(unprefixed.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error.message).toContain('/v1/chat/completions');
    expect(getEmbeddings.status).toBe(405);
    expect(getEmbeddings.headers.get('allow')).toBe('POST');
    expect(postModels.status).toBe(405);
    expect(server.log).toHaveLength(0);
  });

  it('answers 413 naming the limit when a request has more than maxInputs inputs', async () => {
    // Prepare
    const server = await start({ maxInputs: 2 });

    // Act
    const over = await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a', 'b', 'c'] });
    const at = await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a', 'b'] });

    // Assess
    expect(over.status).toBe(413);
    expect(((await over.json()) as ErrorBody).error.message).toContain('the limit is 2');
    expect(at.status).toBe(200);
  });

  it('answers 413 input too long when one input has more than maxInputChars characters', async () => {
    // Prepare
    const server = await start({ maxInputChars: 5 });

    // Act
    const over = await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['short', 'too long'] });
    const at = await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['12345'] });

    // Assess
    expect(over.status).toBe(413);
    const { error } = (await over.json()) as ErrorBody;
    expect(error.message).toMatch(/input 1 is too long: 8 characters, the limit is 5/);
    expect(error.code).toBe('input_too_long');
    expect(at.status).toBe(200);
  });

  it('answers float arrays to base64 requests when floatsOnly', async () => {
    // Prepare
    const server = await start({ floatsOnly: true });

    // Act
    const response = await postEmbeddings(server, {
      model: OFFLINE_MODEL,
      input: ['x'],
      encoding_format: 'base64',
    });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(Float32Array.from(body.data[0]!.embedding as number[])).toEqual(featureHashEmbed('x'));
    expect(server.log[0]?.encoding).toBe('base64');
  });

  it('returns data in reverse order with correct indices when reverseOrder', async () => {
    // Prepare
    const server = await start({ reverseOrder: true, dimensions: 8 });
    const inputs = ['zero', 'one', 'two'];

    // Act
    const response = await postEmbeddings(server, {
      model: OFFLINE_MODEL,
      input: inputs,
      encoding_format: 'base64',
    });
    const body = (await response.json()) as EmbeddingsBody;

    // Assess
    expect(body.data.map((item) => item.index)).toEqual([2, 1, 0]);
    for (const item of body.data) {
      expect(decodeBase64(item.embedding as string)).toEqual(featureHashEmbed(inputs[item.index]!, 8));
    }
  });

  it.each([
    ['invalid JSON', '{"model":', 'invalid_json'],
    ['a body that is not an object', '[1,2]', 'invalid_request'],
    ['a missing model', { input: ['x'] }, 'invalid_request'],
    ['a missing input', { model: OFFLINE_MODEL }, 'invalid_request'],
    ['an empty input array', { model: OFFLINE_MODEL, input: [] }, 'invalid_request'],
    ['an empty string', { model: OFFLINE_MODEL, input: ['ok', ''] }, 'invalid_request'],
    ['a non-string input', { model: OFFLINE_MODEL, input: ['ok', 42] }, 'invalid_request'],
    ['token arrays', { model: OFFLINE_MODEL, input: [[1, 2, 3]] }, 'invalid_request'],
    [
      'an unknown encoding_format',
      { model: OFFLINE_MODEL, input: ['x'], encoding_format: 'hex' },
      'invalid_request',
    ],
    ['non-integer dimensions', { model: OFFLINE_MODEL, input: ['x'], dimensions: 1.5 }, 'invalid_request'],
    ['zero dimensions', { model: OFFLINE_MODEL, input: ['x'], dimensions: 0 }, 'invalid_request'],
  ])('answers 400 with an OpenAI-style error for %s', async (_case, body, code) => {
    // Prepare
    const server = await start();

    // Act
    const response = await postEmbeddings(server, body);
    const answer = (await response.json()) as ErrorBody;

    // Assess
    expect(response.status).toBe(400);
    expect(answer.error).toMatchObject({ type: 'invalid_request_error', code, message: expect.any(String) });
    expect(server.log.map((entry) => entry.status)).toEqual([400]);
  });

  it('waits latencyMs plus latencyPerInputMs per input before answering', async () => {
    // Prepare
    const server = await start({ latencyMs: 40, latencyPerInputMs: 20 });
    const startedAt = performance.now();

    // Act
    const response = await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a', 'b', 'c'] });
    const elapsed = performance.now() - startedAt;

    // Assess: a lower bound only, so a slow machine cannot fail it (timers may round by 1 ms).
    expect(response.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(40 + 3 * 20 - 2);
  });

  it('logs every embeddings request in arrival order with its inputs, model and encoding', async () => {
    // Prepare
    const server = await start();

    // Act
    await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a', 'b'] });
    await postEmbeddings(server, { model: OFFLINE_MODEL, input: 'c', encoding_format: 'base64' });
    await fetch(`${server.url}/models`);
    await postEmbeddings(server, { model: 'nope', input: ['d'] });

    // Assess
    expect(server.log).toEqual([
      { seq: 1, receivedAt: expect.any(Number), status: 200, inputs: 2, model: OFFLINE_MODEL },
      {
        seq: 2,
        receivedAt: expect.any(Number),
        status: 200,
        inputs: 1,
        model: OFFLINE_MODEL,
        encoding: 'base64',
      },
      { seq: 3, receivedAt: expect.any(Number), status: 404, inputs: 1, model: 'nope' },
    ]);
    expect(server.log[0]!.receivedAt).toBeLessThanOrEqual(server.log[1]!.receivedAt);
    expect(server.stats.requests).toBe(3);
    expect(server.stats.byStatus).toEqual({ 200: 2, 404: 1 });
    expect(server.stats.inputs).toBe(4);
    expect(server.stats.embeddedInputs).toBe(3);
  });

  it('writes one line per request to the logger unless quiet', async () => {
    // Prepare
    const lines: string[] = [];
    const server = await start({ quiet: false, logger: (line) => lines.push(line) });

    // Act
    await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a', 'b'] });
    await fetch(`${server.url}/models`);

    // Assess
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^#1 POST \/v1\/embeddings 200 2 inputs \d+\.\dms$/);
    expect(lines[1]).toMatch(/^GET \/v1\/models 200 \d+\.\dms$/);
  });

  it('keeps connections alive between requests', async () => {
    // Prepare
    const server = await start();

    // Act
    const response = await postEmbeddings(server, { model: OFFLINE_MODEL, input: ['a'] });
    await response.arrayBuffer();

    // Assess
    expect(response.headers.get('connection')).toBe('keep-alive');
  });

  it('closes idempotently and stops answering', async () => {
    // Prepare
    const server = await start();

    // Act
    await Promise.all([server.close(), server.close()]);
    await server.close();

    // Assess
    await expect(fetch(`${server.url}/models`)).rejects.toThrow();
  });

  it('rejects with a ConfigError when the port is taken', async () => {
    // Prepare
    const first = await start();

    // Act
    const second = startLocalServer({ port: first.port });

    // Assess
    await expect(second).rejects.toThrow(ConfigError);
    await expect(startLocalServer({ port: first.port })).rejects.toThrow(/address is in use/);
  });

  it.each<[LocalServerOptions, string]>([
    [{ rps: -1 }, 'Expected `rps` to be a positive number, got -1'],
    [{ rps: 0 }, 'Expected `rps` to be a positive number, got 0'],
    [{ burst: 5 }, 'Expected `burst` only together with `rps`'],
    [{ rps: 5, burst: 0.5 }, 'Expected `burst` to be a number of at least 1, got 0.5'],
    [{ port: 70_000 }, 'Expected `port` to be an integer from 0 to 65535, got 70000'],
    [{ dimensions: 0 }, 'Expected `dimensions` to be an integer from 1 to 8192, got 0'],
    [{ apiKey: '' }, 'Expected `apiKey` to be a non-empty string, got ""'],
    [{ models: [] }, 'Expected `models` to be a non-empty array of model ids'],
    [{ latencyMs: -5 }, 'Expected `latencyMs` to be a non-negative number, got -5'],
    [{ latencyPerInputMs: Number.NaN }, 'Expected `latencyPerInputMs` to be a non-negative number, got NaN'],
    [{ maxInputs: 0 }, 'Expected `maxInputs` to be a positive integer, got 0'],
    [{ maxInputChars: 2.5 }, 'Expected `maxInputChars` to be a positive integer, got 2.5'],
    [
      { retryAfter: 'minutes' as 'ms' },
      'Expected `retryAfter` to be one of seconds, date, ms, got "minutes"',
    ],
    [{ faults: '500x3,boom' }, 'item 2 of `faults`'],
    [
      { faultEvery: { every: 0, kind: '500' } },
      'Expected `faultEvery` to be an object whose `every` is a positive integer',
    ],
    [{ faultEvery: { every: 2, kind: 'explode' } }, 'Expected `faultEvery` to name an HTTP status 400-599'],
  ])('throws a ConfigError naming the option for %o', async (options, message) => {
    // Act
    const started = startLocalServer(options);

    // Assess
    await expect(started).rejects.toThrow(ConfigError);
    await expect(startLocalServer(options)).rejects.toThrow(message);
  });
});
