/**
 * The headers with which `serve-local` tells a client about its rate limit.
 */
import type { RetryAfterFormat } from './types.ts';

/** Go-style duration, as OpenAI sends in `x-ratelimit-reset-requests`: "250ms", "1.5s". */
export function formatDuration(ms: number): string {
  const whole = Math.ceil(ms);
  if (whole < 1000) return `${whole}ms`;
  return `${Number((whole / 1000).toFixed(3))}s`;
}

/**
 * The one header a 429 uses to say when to come back:
 * `Retry-After: <whole seconds, at least 1>`, `Retry-After: <HTTP date>` or
 * `retry-after-ms: <ms, at least 1>`. Values are rounded up, never down, so a
 * client that obeys never comes back early.
 *
 * @param now - epoch ms the HTTP date counts from. @default Date.now()
 * @returns `[header name, value]`.
 */
export function retryAfterHeader(
  format: RetryAfterFormat,
  waitMs: number,
  now: number = Date.now(),
): [string, string] {
  if (format === 'ms') return ['retry-after-ms', String(Math.max(1, Math.ceil(waitMs)))];
  // HTTP dates have whole seconds.
  if (format === 'date')
    return ['retry-after', new Date(Math.ceil((now + waitMs) / 1000) * 1000).toUTCString()];
  return ['retry-after', String(Math.max(1, Math.ceil(waitMs / 1000)))];
}
