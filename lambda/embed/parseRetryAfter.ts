/**
 * How long a server asked us to wait, from its response headers.
 */

/** The one method of `Headers` this module needs, so tests can pass a plain object. */
export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The longest wait read from a header: a server asking for more is treated as
 * asking for a year. Whether a wait is accepted at all is the retry deadline's
 * call (`--max-retry-wait`), which fails the job on a longer one and says so,
 * rather than clamping it into many silent minutes.
 */
export const MAX_RETRY_AFTER_MS = 365 * 24 * 60 * 60 * 1000;

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;

/**
 * Parses a Go-style duration as OpenAI sends in `x-ratelimit-reset-*`
 * ("1s", "250ms", "1m30s", "6m0.5s", "1h"); a bare number is seconds.
 * Returns ms, or undefined when the text is not a duration.
 */
export function parseDuration(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined) return undefined;
  const value = text.trim();
  if (value === '') return undefined;
  if (PLAIN_NUMBER.test(value)) return Number(value) * 1000;
  const factors: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let end = 0;
  for (let match = DURATION_PART.exec(value); match !== null; match = DURATION_PART.exec(value)) {
    total += Number(match[1]) * (factors[match[2] ?? ''] ?? Number.NaN);
    end = DURATION_PART.lastIndex;
  }
  // The sticky regex stops at the first character that is not a duration part;
  // anything left over means this was not a duration at all.
  return end === value.length && Number.isFinite(total) ? total : undefined;
}

function clamp(ms: number): number {
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/**
 * The wait a server asked for, in ms, clamped to [0, 1 year]; undefined when it asked for none.
 *
 * Reads, in order: `retry-after-ms` (ms, some OpenAI-compatible servers),
 * `Retry-After` as seconds (decimals allowed) or an HTTP date (relative to
 * `now`), then `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens`
 * durations as a fallback for servers that only send those.
 *
 * @param now - epoch ms the HTTP date is measured from. @default Date.now()
 */
export function parseRetryAfter(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms !== undefined && PLAIN_NUMBER.test(ms)) return clamp(Number(ms));

  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter !== undefined && retryAfter !== '') {
    if (PLAIN_NUMBER.test(retryAfter)) return clamp(Number(retryAfter) * 1000);
    // HTTP dates name a month; V8's Date.parse also accepts bare numbers like "-1" as years.
    const date = /[a-z]/i.test(retryAfter) ? Date.parse(retryAfter) : Number.NaN;
    if (!Number.isNaN(date)) return clamp(date - now);
  }

  for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
    const duration = parseDuration(headers.get(name));
    if (duration !== undefined) return clamp(duration);
  }
  return undefined;
}
