/**
 * The request log and counters behind `LocalServer.log` and `LocalServer.stats`.
 */
import { ConfigError } from '../errors.ts';
import type { LocalServerStats, RequestLogEntry } from './types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A log entry the server fills in as the request goes along. */
export type PendingEntry = Mutable<RequestLogEntry>;

/**
 * The largest number of times in any half-open window `[t, t + windowMs)`.
 * `times` must be in ascending order; arrival order is.
 */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  if (!(windowMs > 0))
    throw new ConfigError(`Expected \`windowMs\` to be a positive number, got ${windowMs}`);
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** Entries in arrival order, plus counters kept in step with them. */
export class RequestLog {
  /** Exposed as `LocalServer.log`: one array for the server's lifetime. */
  readonly entries: PendingEntry[] = [];
  readonly #byStatus: Record<string, number> = {};
  #inputs = 0;
  #embeddedInputs = 0;

  /** Exposed as `LocalServer.stats`: one object, its getters always current. */
  readonly stats: LocalServerStats;

  constructor() {
    const log = this;
    this.stats = {
      get requests() {
        return log.entries.length;
      },
      byStatus: this.#byStatus,
      get inputs() {
        return log.#inputs;
      },
      get embeddedInputs() {
        return log.#embeddedInputs;
      },
      maxAcceptedInWindow: (windowMs: number) =>
        maxInWindow(
          this.entries.filter((entry) => entry.status !== 429).map((entry) => entry.receivedAt),
          windowMs,
        ),
    };
  }

  /** Records an arrival; the entry's status stays 0 until {@link finish}. */
  open(receivedAt: number): PendingEntry {
    const entry: PendingEntry = { seq: this.entries.length + 1, receivedAt, status: 0, inputs: 0 };
    this.entries.push(entry);
    return entry;
  }

  /** Records what the body said. */
  describe(entry: PendingEntry, inputs: number, model?: string, encoding?: string): void {
    entry.inputs = inputs;
    if (model !== undefined) entry.model = model;
    if (encoding !== undefined) entry.encoding = encoding;
    this.#inputs += inputs;
  }

  /** Records the answer, once. */
  finish(entry: PendingEntry, status: RequestLogEntry['status'], embeddedInputs = 0): void {
    if (entry.status !== 0) return;
    entry.status = status;
    const key = String(status);
    this.#byStatus[key] = (this.#byStatus[key] ?? 0) + 1;
    this.#embeddedInputs += embeddedInputs;
  }
}
