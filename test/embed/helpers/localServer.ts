/**
 * Starts `serve-local` for a test and closes it after, whatever happens.
 */
import { afterEach } from 'vitest';
import {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
} from '../../../lambda/serve/startLocalServer.ts';

/** Registers an afterEach that closes every server `start` opened in the test. */
export function useLocalServers(): (options?: LocalServerOptions) => Promise<LocalServer> {
  const open: LocalServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((server) => server.close()));
  });
  return async (options = {}) => {
    const server = await startLocalServer(options);
    open.push(server);
    return server;
  };
}

/** Sample texts with words, punctuation and non-ASCII, distinct per index. */
export function sampleTexts(count: number, prefix = 'row'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix} ${i}: Grüße, naïve café #${i * 7}`);
}
