/**
 * The benchmark's handle on a `serve-local` child process (see serveEndpoint.ts).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LocalServerOptions } from '../../lambda/serve/types.ts';
import type { EndpointLogEntry, EndpointMessage } from './types.ts';

/** tsx as a URL, so children find it whatever their working folder. */
const TSX = import.meta.resolve('tsx');
const SCRIPT = fileURLToPath(new URL('./serveEndpoint.ts', import.meta.url));

/** Counts of a slice of the request log. */
export interface EndpointTally {
  readonly requests: number;
  /** Requests by status, e.g. `{ "200": 95, "429": 3 }`. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Inputs of requests answered 200. */
  readonly embeddedInputs: number;
  /** Ms between the first and the last arrival. */
  readonly spanMs: number;
}

/** Sums a slice of the request log. */
export function tally(entries: readonly EndpointLogEntry[]): EndpointTally {
  const byStatus: Record<string, number> = {};
  let embeddedInputs = 0;
  for (const entry of entries) {
    byStatus[entry.status] = (byStatus[entry.status] ?? 0) + 1;
    if (entry.status === '200') embeddedInputs += entry.inputs;
  }
  const first = entries[0]?.receivedAt ?? 0;
  const last = entries[entries.length - 1]?.receivedAt ?? first;
  return { requests: entries.length, byStatus, embeddedInputs, spanMs: last - first };
}

/** A running endpoint in its own process. */
export class LocalEndpoint {
  readonly url: string;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, url: string) {
    this.#child = child;
    this.url = url;
  }

  /** Starts the endpoint and resolves once it listens. */
  static async start(options: LocalServerOptions): Promise<LocalEndpoint> {
    const child = fork(SCRIPT, [JSON.stringify(options)], {
      execArgv: ['--import', TSX],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [message] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(() => {
        throw new Error('the benchmark endpoint exited before listening');
      }),
    ])) as [EndpointMessage];
    if (message.type !== 'ready') throw new Error(`unexpected message from the endpoint: ${message.type}`);
    return new LocalEndpoint(child, message.url);
  }

  /** The requests received since the last call (or the start). */
  async takeLog(): Promise<EndpointLogEntry[]> {
    const reply = new Promise<EndpointLogEntry[]>((resolve) => {
      const onMessage = (message: EndpointMessage): void => {
        if (message.type !== 'log') return;
        this.#child.off('message', onMessage);
        resolve([...message.entries]);
      };
      this.#child.on('message', onMessage);
    });
    this.#child.send('log');
    return reply;
  }

  /** Stops the endpoint process. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, 'exit');
    this.#child.send('close');
    await exited;
  }
}
