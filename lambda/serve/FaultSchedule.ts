/**
 * Decides, request by request, which fault (if any) to inject.
 */
import type { Fault, FaultRun } from './parseFaults.ts';

/** A fault on every Nth request. */
export interface PeriodicFault {
  readonly every: number;
  readonly fault: Fault;
}

/**
 * Walks the fault script, then the periodic fault. Requests are counted
 * 1-based in the order `next()` is called; the server calls it synchronously
 * on arrival, so the outcome depends only on arrival order, never on timing.
 * When the script and the periodic fault both claim a request, the script wins
 * and the periodic fault is not carried over.
 */
export class FaultSchedule {
  readonly #runs: readonly FaultRun[];
  readonly #periodic: PeriodicFault | undefined;
  #run = 0;
  #usedInRun = 0;
  #count = 0;

  constructor(runs: readonly FaultRun[], periodic?: PeriodicFault) {
    this.#runs = runs;
    this.#periodic = periodic;
  }

  /** The fault for the next request, or undefined to serve it normally. */
  next(): Fault | undefined {
    this.#count++;
    while (this.#run < this.#runs.length) {
      const run = this.#runs[this.#run]!;
      if (this.#usedInRun < run.times) {
        this.#usedInRun++;
        return run.fault;
      }
      this.#run++;
      this.#usedInRun = 0;
    }
    if (this.#periodic !== undefined && this.#count % this.#periodic.every === 0) return this.#periodic.fault;
    return undefined;
  }
}
