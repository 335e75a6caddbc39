import { setMaxListeners } from 'node:events';

/** Exit status of a process stopped by a signal: 128 + its number. */
const STATUS: Readonly<Record<string, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Options of `StopOnSignals`. */
export interface StopOnSignalsOptions {
  /** How long answers in flight may take to arrive after the first signal. @default 5_000 */
  readonly graceMs?: number;
  /** Ends the process at once (a second signal). @default process.exit */
  readonly exit?: (status: number) => void;
}

/**
 * Turns Ctrl-C, SIGTERM and SIGHUP into a clean stop of a job: the first
 * fires `stop` (no new requests; answers in flight are kept, progress is
 * checkpointed), and `abort` `graceMs` later (requests still in flight are
 * cancelled). A second signal ends the process at once.
 */
export class StopOnSignals {
  readonly #stop = new AbortController();
  readonly #abort = new AbortController();
  readonly #graceMs: number;
  readonly #exit: (status: number) => void;
  #received: string | undefined;
  readonly #listener = (signal: NodeJS.Signals): void => this.#on(signal);

  constructor(options: StopOnSignalsOptions = {}) {
    // Every request and wait of the job listens on these: more than the default ten at once is normal.
    setMaxListeners(0, this.#stop.signal, this.#abort.signal);
    this.#graceMs = options.graceMs ?? 5_000;
    this.#exit = options.exit ?? ((status) => process.exit(status));
    for (const signal of SIGNALS) process.on(signal, this.#listener);
  }

  /** Fires at the first signal: stop cleanly. */
  get stop(): AbortSignal {
    return this.#stop.signal;
  }

  /** Fires `graceMs` after the first signal: cancel what is still in flight. */
  get abort(): AbortSignal {
    return this.#abort.signal;
  }

  /** The exit status the received signal calls for (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), or undefined. */
  get exitStatus(): number | undefined {
    return this.#received === undefined ? undefined : STATUS[this.#received];
  }

  /** Stops listening (the job is over). */
  dispose(): void {
    for (const signal of SIGNALS) process.off(signal, this.#listener);
  }

  #on(signal: NodeJS.Signals): void {
    if (this.#received !== undefined) {
      this.#exit(STATUS[signal] ?? 130);
      return;
    }
    this.#received = signal;
    this.#stop.abort(new Error(`${signal} received`));
    setTimeout(() => this.#abort.abort(new Error(`${signal} received`)), this.#graceMs).unref();
  }
}
