/**
 * A manual clock for the rate limiter: `now` and `sleep` that only move when
 * the test calls `advance`, so limiter tests never wait for real time.
 */

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** Lets every pending promise callback run (setImmediate comes after the microtask queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];
  /** Every sleep ever requested, in ms (to prove the limiter does not busy-loop). */
  readonly sleeps: number[] = [];

  readonly now = (): number => this.#now;

  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      this.sleeps.push(ms);
      const timer: Timer = { at: this.#now + ms, seq: this.#seq++, resolve };
      this.#timers.push(timer);
      signal.addEventListener(
        'abort',
        () => {
          this.#timers = this.#timers.filter((other) => other !== timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their callbacks run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const due = this.#timers
        .filter((timer) => timer.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((timer) => timer !== due);
      this.#now = Math.max(this.#now, due.at);
      due.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}
