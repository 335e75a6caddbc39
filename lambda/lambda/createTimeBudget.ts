/** What the budget needs of Lambda's context. */
export interface RemainingTime {
  getRemainingTimeInMillis(): number;
}

/** A deadline turned into an AbortSignal. */
export interface TimeBudget {
  /** Aborts `marginMs` before the invocation's end. */
  readonly signal: AbortSignal;
  /** Whether the deadline has passed (the signal fired). */
  readonly expired: boolean;
  /** Milliseconds left before the signal fires. */
  remainingMs(): number;
  /** Stops the timer; call when the job is over. */
  dispose(): void;
}

/**
 * Turns the invocation's remaining time into a signal that fires `marginMs`
 * before Lambda would kill the function, so a job that cannot finish stops
 * while there is still time to log why and to report the failure, instead of
 * vanishing mid-write at the hard limit.
 */
export function createTimeBudget(context: RemainingTime, marginMs: number): TimeBudget {
  const controller = new AbortController();
  const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - marginMs);
  const deadline = Date.now() + budgetMs;
  const timer = setTimeout(() => controller.abort(new Error('the Lambda time budget ran out')), budgetMs);
  // Never keep a process (a test runner, a local invoke) alive for a budget alone.
  timer.unref();
  if (budgetMs === 0) controller.abort(new Error('the Lambda time budget ran out'));
  return {
    signal: controller.signal,
    get expired() {
      return controller.signal.aborted;
    },
    remainingMs: () => Math.max(0, deadline - Date.now()),
    dispose: () => clearTimeout(timer),
  };
}
