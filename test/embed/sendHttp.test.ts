import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { statusKey } from '../../lambda/embed/errorFromResponse.ts';
import { HttpEmbeddingsClient } from '../../lambda/embed/HttpEmbeddingsClient.ts';
import { sendWithFetch, sendWithNodeHttp } from '../../lambda/embed/sendHttp.ts';
import { BadRequestError, InvalidResponseError, TransientEndpointError } from '../../lambda/errors.ts';
import { failureOf } from './helpers/failureOf.ts';

/** A loopback server answering every request with `handler`; closed after each test. */
const servers: http.Server[] = [];
async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A valid answer for one input: vector [1, 2] as base64 floats. */
function answer(model = 'm'): string {
  const vector = Buffer.from(new Float32Array([1, 2]).buffer).toString('base64');
  return JSON.stringify({ data: [{ index: 0, embedding: vector }], model });
}

describe('Function: sendWithNodeHttp', () => {
  it('sends the body with its length and returns status, headers and body bytes', async () => {
    // Prepare
    let received = '';
    let length: string | undefined;
    const url = await serve((request, response) => {
      length = request.headers['content-length'];
      request.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      request.on('end', () => {
        response.setHeader('x-ratelimit-remaining-requests', ['7', '8']);
        response.writeHead(201).end('héllo');
      });
    });

    // Act
    const reply = await sendWithNodeHttp({
      url: `${url}/x`,
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: 'ünïcode',
      signal: new AbortController().signal,
    });

    // Assess
    expect(received).toBe('ünïcode');
    expect(length).toBe(String(Buffer.byteLength('ünïcode')));
    expect(reply.status).toBe(201);
    expect(reply.headers.get('X-RateLimit-Remaining-Requests')).toBe('7, 8');
    expect(reply.headers.get('absent')).toBeNull();
    expect(reply.body.toString('utf8')).toBe('héllo');
  });

  it('reads an answer the server gzipped although nobody asked', async () => {
    // Prepare
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync(answer()));
    });

    // Act
    const result = await new HttpEmbeddingsClient({ baseUrl: url, model: 'm' }).embed(['a']);

    // Assess
    expect(Array.from(result.vectors[0] ?? [])).toEqual([1, 2]);
  });

  it('reports a compressed body that does not decompress as an invalid answer', async () => {
    // Prepare
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Encoding': 'gzip' }).end('not gzip at all');
    });

    // Act
    const error = await failureOf(new HttpEmbeddingsClient({ baseUrl: url, model: 'm' }).embed(['a']));

    // Assess
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toMatch(/^the endpoint sent a gzip body that does not decompress \(HTTP 200\): /);
    expect(statusKey(error)).toBe('200');
  });

  it('decodes a body that is not ASCII as UTF-8', async () => {
    // Prepare
    const url = await serve((_request, response) => {
      response.writeHead(200).end(Buffer.from(answer('modèle-東')));
    });

    // Act
    const result = await new HttpEmbeddingsClient({ baseUrl: url, model: 'm' }).embed(['a']);

    // Assess
    expect(result.model).toBe('modèle-東');
  });

  it('fails a connection that closes mid-body as a retryable network failure', async () => {
    // Prepare: headers promise 1,000 bytes, 10 arrive, then the socket goes.
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Length': '1000' });
      response.write('{"data":[{');
      setTimeout(() => response.socket?.destroy(), 20);
    });

    // Act
    const error = await failureOf(new HttpEmbeddingsClient({ baseUrl: url, model: 'm' }).embed(['a']));

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(statusKey(error)).toBe('network');
  });

  it('times out a server that stalls mid-body', async () => {
    // Prepare
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Length': '1000' });
      response.write('{"data":[{');
    });

    // Act
    const error = await failureOf(
      new HttpEmbeddingsClient({ baseUrl: url, model: 'm', timeoutMs: 200 }).embed(['a']),
    );

    // Assess
    expect(error).toBeInstanceOf(TransientEndpointError);
    expect(error.message).toBe('the endpoint did not answer within 200 ms (timeout)');
    expect(statusKey(error)).toBe('timeout');
  });

  it('reuses one kept-alive connection for requests one after another', async () => {
    // Prepare
    const sockets = new Set<unknown>();
    const url = await serve((request, response) => {
      sockets.add(request.socket);
      response.writeHead(200).end(answer());
    });
    const client = new HttpEmbeddingsClient({ baseUrl: url, model: 'm' });

    // Act
    for (let i = 0; i < 5; i++) await client.embed(['a']);

    // Assess
    expect(sockets.size).toBe(1);
  });

  it('fails at once, naming the new address, when the endpoint redirects', async () => {
    // Prepare: a server that moved (http to https, say), behind the real retrying embedder.
    let requests = 0;
    const url = await serve((_request, response) => {
      requests++;
      response.writeHead(301, { Location: 'https://moved.example/v1/embeddings' }).end();
    });
    const { embedder } = createEmbedder({ baseUrl: url, model: 'm', concurrency: 2 });

    // Act
    const error = await failureOf(embedder.embedBatch(['a']));

    // Assess
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toBe(
      'the endpoint redirects to https://moved.example/v1/embeddings (HTTP 301); use https://moved.example/v1 as the base URL',
    );
    expect(requests).toBe(1);
  });

  it('reports a redirect through an injected fetch too, rather than following it', async () => {
    // Prepare
    const url = await serve((_request, response) => {
      response.writeHead(308, { Location: 'https://moved.example/v1/embeddings' }).end();
    });

    // Act
    const reply = await sendWithFetch(globalThis.fetch)({
      url: `${url}/embeddings`,
      method: 'POST',
      headers: {},
      body: '{}',
      signal: new AbortController().signal,
    });

    // Assess
    expect(reply.status).toBe(308);
    expect(reply.headers.get('location')).toBe('https://moved.example/v1/embeddings');
  });

  it('refuses a URL that is neither http nor https', async () => {
    // Act
    const act = sendWithNodeHttp({
      url: 'ftp://example.invalid/v1',
      method: 'GET',
      headers: {},
      signal: new AbortController().signal,
    });

    // Assess
    await expect(act).rejects.toThrow('unsupported URL scheme ftp:');
  });
});
