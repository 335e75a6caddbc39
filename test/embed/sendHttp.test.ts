import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { statusKey } from '../../lambda/embed/errorFromResponse.ts';
import { HttpEmbeddingsClient } from '../../lambda/embed/HttpEmbeddingsClient.ts';
import { MAX_ERROR_BODY_BYTES, sendWithFetch, sendWithNodeHttp } from '../../lambda/embed/sendHttp.ts';
import { BadRequestError, InvalidResponseError, TransientEndpointError } from '../../lambda/errors.ts';
import { type HugeAnswerProgress, streamHugeAnswer } from '../helpers/hugeAnswer.ts';
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

describe('Function: sendWithNodeHttp and sendWithFetch, bounded answers', () => {
  const MAX = 1_048_576;
  const senders = [
    ['node:http', sendWithNodeHttp],
    ['fetch', sendWithFetch(fetch)],
  ] as const;

  function exchange(url: string, maxBodyBytes = MAX) {
    return {
      url: `${url}/embeddings`,
      method: 'GET',
      headers: {},
      signal: new AbortController().signal,
      maxBodyBytes,
    };
  }

  it.each(senders)('%s: stops reading a chunked 200 answer once it is over the cap', async (_name, send) => {
    // Prepare: 500 MB offered, made up as it is sent.
    let progress: HugeAnswerProgress | undefined;
    const url = await serve((_request, response) => {
      progress = streamHugeAnswer(response, 500_000_000);
    });

    // Act
    const error = await failureOf(send(exchange(url)));

    // Assess
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toBe(
      'the endpoint sent an answer larger than the 1.0 MiB this request can need (HTTP 200); not read further',
    );
    expect(statusKey(error)).toBe('200');
    // The server stops soon after: socket buffers, not the whole answer.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(progress?.finished).toBe(false);
    expect(progress?.sent).toBeLessThan(64 * MAX);
  });

  it.each(senders)(
    '%s: refuses a 200 answer whose Content-Length is over the cap before reading it',
    async (_name, send) => {
      // Prepare: 3 GB announced.
      let progress: HugeAnswerProgress | undefined;
      const url = await serve((_request, response) => {
        progress = streamHugeAnswer(response, 3_000_000_000, { announce: true });
      });

      // Act
      const error = await failureOf(send(exchange(url)));

      // Assess
      expect(error).toBeInstanceOf(InvalidResponseError);
      expect(error.message).toMatch(
        /^the endpoint announced an answer of 2861\.0 MiB \(HTTP 200\), more than the 1\.0 MiB/,
      );
      expect(progress?.finished).toBe(false);
    },
  );

  it('refuses a gzip answer that expands past the cap', async () => {
    // Prepare: 64 MiB of zeros gzip to about 64 KiB.
    const bomb = gzipSync(Buffer.alloc(64 * MAX));
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'Content-Encoding': 'gzip' }).end(bomb);
    });

    // Act
    const error = await failureOf(sendWithNodeHttp(exchange(url)));

    // Assess
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toMatch(
      /^the endpoint sent an answer larger than the 1\.0 MiB this request can need \(HTTP 200\)/,
    );
  });

  it.each(senders)(
    '%s: keeps the first 64 KiB of a long error body, marked truncated',
    async (_name, send) => {
      // Prepare
      const url = await serve((_request, response) => {
        response.writeHead(503).end(`upstream down ${'x'.repeat(4 * MAX)}`);
      });

      // Act
      const reply = await send(exchange(url));

      // Assess
      expect(reply.status).toBe(503);
      expect(reply.body.length).toBe(MAX_ERROR_BODY_BYTES);
      expect(reply.truncated).toBe(true);
      expect(reply.body.subarray(0, 13).toString()).toBe('upstream down');
    },
  );
});
