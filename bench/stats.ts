/** Median and range of repeated measurements, and how they are printed. */

/** Several runs of one figure. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Median (the mean of the middle two for an even count), min and max. */
export function summarize(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, runs: sorted.length };
}

/** `value` with `digits` decimals; NaN as an em dash. */
export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `median (min–max)`, or just the value for a single run. */
export function formatSpread(spread: Spread, digits = 0, suffix = ''): string {
  if (!Number.isFinite(spread.median)) return '—';
  const median = `${formatNumber(spread.median, digits)}${suffix}`;
  // One run, or runs that all agree: the range would say nothing.
  if (spread.runs <= 1 || formatNumber(spread.min, digits) === formatNumber(spread.max, digits))
    return median;
  return `${median} (${formatNumber(spread.min, digits)}–${formatNumber(spread.max, digits)}${suffix})`;
}

/** Summarizes one field over runs. */
export function spreadOf<T>(runs: readonly T[], pick: (run: T) => number): Spread {
  return summarize(runs.map(pick));
}
