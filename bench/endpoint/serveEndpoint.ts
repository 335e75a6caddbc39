/**
 * Child process: `serve-local` (startLocalServer) for the benchmarks, run
 * apart from the client under test so that the client's CPU and RSS figures are
 * its own. Talks to its parent over IPC: sends `{ url }` once it listens,
 * answers `'log'` with the request log since the last `'log'`, exits on `'close'`.
 *
 * Usage: node --import tsx bench/endpoint/serveEndpoint.ts '<LocalServerOptions as JSON>'
 */
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServerOptions } from '../../lambda/serve/types.ts';
import type { EndpointLogEntry, EndpointMessage } from './types.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as LocalServerOptions;
const server = await startLocalServer({ ...options, quiet: true });
let sent = 0;

function send(message: EndpointMessage): void {
  process.send?.(message);
}

process.on('message', (message: unknown) => {
  if (message === 'log') {
    const entries: EndpointLogEntry[] = server.log.slice(sent).map((entry) => ({
      receivedAt: entry.receivedAt,
      status: String(entry.status),
      inputs: entry.inputs,
    }));
    sent = server.log.length;
    send({ type: 'log', entries });
  } else if (message === 'close') {
    void server.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
send({ type: 'ready', url: server.url });
