/** What the budget needs of Lambda's context. */
export interface RemainingTime {
  getRemainingTimeInMillis(): number;
}

/** A deadline turned into AbortSignals. */
export interface TimeBudget {
  /**
   * Fires `marginMs` before the invocation's end: stop cleanly (no new
   * requests, answers in flight kept, progress checkpointed).
   */
  readonly stop: AbortSignal;
  /** Fires a third of `marginMs` before the end: cancel whatever is still in flight. */
  readonly signal: AbortSignal;
  /** Whether the deadline has passed (`stop` fired). */
  readonly expired: boolean;
  /** Milliseconds left before `stop` fires. */
  remainingMs(): number;
  /** Stops the timer; call when the job is over. */
  dispose(): void;
}

/**
 * Turns the invocation's remaining time into two signals: `stop`, `marginMs`
 * before Lambda would kill the function, so a job that cannot finish stops
 * and checkpoints while there is time to queue its continuation, and
 * `signal` later, which cancels requests that have not answered by then.
 */
export function createTimeBudget(context: RemainingTime, marginMs: number): TimeBudget {
  const remaining = context.getRemainingTimeInMillis();
  const stopAfter = Math.max(0, remaining - marginMs);
  const abortAfter = Math.max(stopAfter, remaining - Math.floor(marginMs / 3));
  const deadline = Date.now() + stopAfter;
  const stop = deadlineSignal(stopAfter);
  const abort = deadlineSignal(abortAfter);
  return {
    stop: stop.signal,
    signal: abort.signal,
    get expired() {
      return stop.signal.aborted;
    },
    remainingMs: () => Math.max(0, deadline - Date.now()),
    dispose: () => {
      stop.dispose();
      abort.dispose();
    },
  };
}

function deadlineSignal(afterMs: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const reason = () => new Error('the Lambda time budget ran out');
  if (afterMs === 0) {
    controller.abort(reason());
    return { signal: controller.signal, dispose: () => undefined };
  }
  const timer = setTimeout(() => controller.abort(reason()), afterMs);
  // Never keep a process (a test runner, a local invoke) alive for a budget alone.
  timer.unref();
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}
