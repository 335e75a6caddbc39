import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseDuration, parseRetryAfter } from '../../lambda/embed/parseRetryAfter.ts';

const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('Function: parseRetryAfter', () => {
  it('reads retry-after-ms as milliseconds', () => {
    // Act
    const ms = parseRetryAfter(new Headers({ 'retry-after-ms': '250' }), NOW);

    // Assess
    expect(ms).toBe(250);
  });

  it('prefers retry-after-ms over Retry-After', () => {
    // Act
    const ms = parseRetryAfter(new Headers({ 'retry-after-ms': '1500', 'retry-after': '2' }), NOW);

    // Assess
    expect(ms).toBe(1500);
  });

  it.each([
    ['2', 2000],
    ['0', 0],
    ['1.5', 1500],
    [' 3 ', 3000],
  ])('reads Retry-After %j as seconds', (value, expected) => {
    // Act
    const ms = parseRetryAfter(new Headers({ 'retry-after': value }), NOW);

    // Assess
    expect(ms).toBe(expected);
  });

  it('reads Retry-After as an HTTP date relative to now', () => {
    // Prepare
    const date = new Date(NOW + 5000).toUTCString();

    // Act
    const ms = parseRetryAfter(new Headers({ 'retry-after': date }), NOW);

    // Assess
    expect(ms).toBe(5000);
  });

  it('treats an HTTP date in the past as no wait', () => {
    // Act
    const ms = parseRetryAfter(new Headers({ 'retry-after': new Date(NOW - 60_000).toUTCString() }), NOW);

    // Assess
    expect(ms).toBe(0);
  });

  it('clamps waits to a year', () => {
    // Act
    const seconds = parseRetryAfter(new Headers({ 'retry-after': '99999999999' }), NOW);
    const date = parseRetryAfter(
      new Headers({ 'retry-after': new Date(NOW + 400 * 86_400_000).toUTCString() }),
      NOW,
    );

    // Assess
    expect(seconds).toBe(MAX_RETRY_AFTER_MS);
    expect(date).toBe(MAX_RETRY_AFTER_MS);
  });

  it('falls back to x-ratelimit-reset-requests, then x-ratelimit-reset-tokens', () => {
    // Act
    const requests = parseRetryAfter(
      new Headers({ 'x-ratelimit-reset-requests': '1m30s', 'x-ratelimit-reset-tokens': '2s' }),
      NOW,
    );
    const tokens = parseRetryAfter(new Headers({ 'x-ratelimit-reset-tokens': '250ms' }), NOW);

    // Assess
    expect(requests).toBe(90_000);
    expect(tokens).toBe(250);
  });

  it.each(['soon', '-1', '', 'Mon, 99 Foo'])('ignores the unreadable Retry-After %j', (value) => {
    // Act
    const ms = parseRetryAfter(new Headers({ 'retry-after': value }), NOW);

    // Assess
    expect(ms).toBeUndefined();
  });

  it('returns undefined without any of the headers', () => {
    // Act
    const ms = parseRetryAfter(new Headers({ 'content-type': 'application/json' }), NOW);

    // Assess
    expect(ms).toBeUndefined();
  });
});

describe('Function: parseDuration', () => {
  it.each([
    ['1s', 1000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['6m0.5s', 360_500],
    ['1h', 3_600_000],
    ['0.5', 500],
    ['2', 2000],
  ])('reads %j as %d ms', (text, expected) => {
    // Act
    const ms = parseDuration(text);

    // Assess
    expect(ms).toBe(expected);
  });

  it.each(['', 'abc', '1x', '1s garbage', 's', null, undefined])('refuses %j', (text) => {
    // Act
    const ms = parseDuration(text);

    // Assess
    expect(ms).toBeUndefined();
  });
});
