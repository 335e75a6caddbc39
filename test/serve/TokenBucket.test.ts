import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../lambda/serve/TokenBucket.ts';

/** A clock the test moves by hand. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 0;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe('Class: TokenBucket', () => {
  it('starts full and lets a burst through', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket(5, 3, clock.now);

    // Act
    const results = [bucket.take(), bucket.take(), bucket.take(), bucket.take()];

    // Assess
    expect(results.map((result) => result.accepted)).toEqual([true, true, true, false]);
    expect(results[0]).toEqual({ accepted: true, remaining: 2 });
  });

  it('says how long until the next token when empty', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket(5, 1, clock.now);
    bucket.take();
    clock.advance(50);

    // Act
    const refused = bucket.take();

    // Assess: a token every 200 ms, 50 ms of it gone.
    expect(refused).toEqual({ accepted: false, waitMs: 150 });
  });

  it('refills continuously at rate per second, up to capacity', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket(2, 4, clock.now);
    for (let i = 0; i < 4; i++) bucket.take();

    // Act
    clock.advance(1000);
    const afterOneSecond = bucket.remaining();
    clock.advance(60_000);
    const afterAMinute = bucket.remaining();

    // Assess
    expect(afterOneSecond).toBe(2);
    expect(afterAMinute).toBe(4);
    expect(bucket.msUntilFull()).toBe(0);
  });

  it('does not count refused requests against the bucket', () => {
    // Prepare
    const clock = manualClock();
    const bucket = new TokenBucket(1, 1, clock.now);
    bucket.take();

    // Act
    for (let i = 0; i < 10; i++) bucket.take();
    clock.advance(1000);

    // Assess
    expect(bucket.take().accepted).toBe(true);
  });
});
