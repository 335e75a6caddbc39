import { describe, expect, it } from 'vitest';
import type { RetryEvent } from '../../lambda/embed/ResilientEmbedder.ts';
import { RetryAnnouncer, type RetryNotice } from '../../lambda/embed/RetryAnnouncer.ts';
import { TransientEndpointError } from '../../lambda/errors.ts';

function event(attempt: number, delayMs: number): RetryEvent {
  return {
    error: new TransientEndpointError('the endpoint failed (HTTP 503)', { status: 503 }),
    attempt,
    retriesLeft: 9 - attempt,
    maxAttempts: 9,
    delayMs,
    inputs: 4,
  };
}

describe('Class: RetryAnnouncer', () => {
  it('announces from the second retry on, at most once per interval, counting the ones in between', () => {
    // Prepare
    let now = 0;
    const notices: RetryNotice[] = [];
    const announcer = new RetryAnnouncer((notice) => notices.push(notice), { now: () => now });

    // Act: a first retry (quiet), a second (said), two more within 5 s (counted), one after.
    announcer.onRetry(event(1, 500));
    announcer.onRetry(event(2, 1_200));
    now = 1_000;
    announcer.onRetry(event(3, 2_000));
    now = 3_000;
    announcer.onRetry(event(4, 4_000));
    now = 5_500;
    announcer.onRetry(event(5, 8_000));

    // Assess
    expect(notices.map((notice) => notice.line)).toEqual([
      'retrying in 1.2 s (attempt 3/9): the endpoint failed (HTTP 503) (1 more retry since the last notice)',
      'retrying in 8 s (attempt 6/9): the endpoint failed (HTTP 503) (2 more retries since the last notice)',
    ]);
    expect(notices[1]).toMatchObject({
      attempt: 6,
      maxAttempts: 9,
      delayMs: 8_000,
      status: 503,
      unannounced: 2,
    });
  });

  it('announces a first retry that waits long', () => {
    // Prepare
    const notices: RetryNotice[] = [];
    const announcer = new RetryAnnouncer((notice) => notices.push(notice));

    // Act
    announcer.onRetry(event(1, 30_000));

    // Assess
    expect(notices.map((notice) => notice.line)).toEqual([
      'retrying in 30 s (attempt 2/9): the endpoint failed (HTTP 503)',
    ]);
  });
});
