/**
 * Small builders for serve-local tests: plain fetch, no client library, so the
 * tests check the wire format itself.
 */
import type { LocalServer } from '../../lambda/serve/startLocalServer.ts';

/** A JSON POST to `/v1/embeddings`. */
export function postEmbeddings(
  server: Pick<LocalServer, 'url'>,
  body: unknown,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${server.url}/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  });
}

/** Little-endian float32 from base64, as the wire format says. */
export function decodeBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** The shape of a successful embeddings answer. */
export interface EmbeddingsBody {
  object: string;
  data: { object: string; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** The shape of an error answer. */
export interface ErrorBody {
  error: { message: string; type: string; code: string | null };
}

/** Closes every server a test started; call in afterEach. */
export class ServerPool {
  readonly #servers: Pick<LocalServer, 'close'>[] = [];

  add<T extends Pick<LocalServer, 'close'>>(server: T): T {
    this.#servers.push(server);
    return server;
  }

  async closeAll(): Promise<void> {
    const servers = this.#servers.splice(0);
    await Promise.all(servers.map((server) => server.close()));
  }
}
