import { describe, expect, it } from 'vitest';
import {
  FIXED_RATE_PACE,
  RateLimiter,
  type RateLimiterOptions,
  type Release,
} from '../../lambda/embed/RateLimiter.ts';
import { FakeClock, settle } from './helpers/FakeClock.ts';

function limiterWith(options: RateLimiterOptions = {}): { limiter: RateLimiter; clock: FakeClock } {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ ...options, now: clock.now, sleep: clock.sleep });
  return { limiter, clock };
}

/** Starts acquires and records when (fake time) and in which order they are granted. */
function track(limiter: RateLimiter, clock: FakeClock) {
  const grants: { id: number; at: number; release: Release }[] = [];
  const errors: unknown[] = [];
  let next = 0;
  const acquire = (tokens = 1, signal?: AbortSignal) => {
    const id = next++;
    limiter.acquire(tokens, signal).then(
      (release) => grants.push({ id, at: clock.now(), release }),
      (error: unknown) => errors.push(error),
    );
    return id;
  };
  return { grants, errors, acquire };
}

describe('Class: RateLimiter', () => {
  describe('concurrency', () => {
    it('grants up to maxConcurrency at once and the rest in FIFO order as slots free', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ maxConcurrency: 2 });
      const { grants, acquire } = track(limiter, clock);

      // Act
      for (let i = 0; i < 5; i++) acquire();
      await settle();
      const first = grants.map((grant) => grant.id);
      grants[1]?.release('ok');
      await settle();
      grants[0]?.release('ok');
      await settle();

      // Assess
      expect(first).toEqual([0, 1]);
      expect(grants.map((grant) => grant.id)).toEqual([0, 1, 2, 3]);
      expect(limiter.inFlight).toBe(2);
      expect(limiter.waiting).toBe(1);
    });

    it('ignores a second release of the same grant', async () => {
      // Prepare
      const { limiter } = limiterWith({ maxConcurrency: 2 });
      const release = await limiter.acquire();
      await limiter.acquire();

      // Act
      release('ok');
      release('ok');

      // Assess
      expect(limiter.inFlight).toBe(1);
    });

    it('halves the limit on a 429, once for requests that were already in flight', async () => {
      // Prepare
      const { limiter } = limiterWith({ maxConcurrency: 8 });
      const releases = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire()));

      // Act
      for (const release of releases) release('throttled');

      // Assess
      expect(limiter.concurrencyLimit).toBe(4);
    });

    it('halves again for a 429 of a request sent after the cut, never below 1', async () => {
      // Prepare: a fixed rate high enough never to wait, so only concurrency reacts
      const { limiter } = limiterWith({ maxConcurrency: 4, rps: 1000, burst: 1000 });

      // Act
      const limits: number[] = [];
      for (let i = 0; i < 4; i++) {
        (await limiter.acquire())('throttled');
        limits.push(limiter.concurrencyLimit);
      }

      // Assess
      expect(limits).toEqual([2, 1, 1, 1]);
    });

    it('grows the limit by one after increaseAfter consecutive successes, up to maxConcurrency', async () => {
      // Prepare
      const { limiter } = limiterWith({ maxConcurrency: 3, initialConcurrency: 1, increaseAfter: 3 });

      // Act
      const limits: number[] = [];
      for (let i = 0; i < 9; i++) {
        (await limiter.acquire())('ok');
        limits.push(limiter.concurrencyLimit);
      }

      // Assess
      expect(limits).toEqual([1, 1, 2, 2, 2, 3, 3, 3, 3]);
    });

    it('restarts the success streak after an error without cutting the limit', async () => {
      // Prepare
      const { limiter } = limiterWith({ maxConcurrency: 4, initialConcurrency: 2, increaseAfter: 2 });

      // Act
      (await limiter.acquire())('ok');
      (await limiter.acquire())('error');
      (await limiter.acquire())('ok');
      const afterError = limiter.concurrencyLimit;
      (await limiter.acquire())('ok');

      // Assess
      expect(afterError).toBe(2);
      expect(limiter.concurrencyLimit).toBe(3);
    });
  });

  describe('requests per second', () => {
    it('lets a burst through at once, then one request every 1/rps with 3 % headroom', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ rps: 1, burst: 3, maxConcurrency: 10 });
      const { grants, acquire } = track(limiter, clock);

      // Act: answers come back at once
      for (let i = 0; i < 5; i++) acquire();
      await settle();
      for (const grant of grants) grant.release('ok');
      await clock.advance(1030);
      const before = grants.length;
      await clock.advance(1070);

      // Assess: 1000 ms / 0.97 = 1030.9 ms apart
      expect(FIXED_RATE_PACE).toBe(0.97);
      expect(before).toBe(3);
      expect(grants.map((grant) => grant.at)).toEqual([0, 0, 0, 1031, 2062]);
    });

    it('paces requests evenly by default, at 97 % of the rate, however long the answers take', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ rps: 5, maxConcurrency: 100 });
      const { grants, acquire } = track(limiter, clock);
      for (let i = 0; i < 30; i++) acquire();

      // Act: every answer comes back 420 ms after its request
      for (let t = 0; t < 6500; t += 1) {
        for (const grant of grants) if (grant.at + 420 === t) grant.release('ok');
        await clock.advance(1);
      }

      // Assess: one every 200 / 0.97 = 206.2 ms (207 on a whole-ms timer), so never more than 5 in any second
      const times = grants.map((grant) => grant.at);
      expect(times.slice(0, 6)).toEqual([0, 207, 414, 621, 828, 1035]);
      expect(times).toHaveLength(30);
      expect(times.at(-1)).toBe(29 * 207);
      const mostInOneSecond = Math.max(
        ...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length),
      );
      expect(mostInOneSecond).toBe(5);
    });

    it('with no fixed rate, paces at 0.9x what a 429 refused, and probes upward after successes', async () => {
      // Prepare: answers take 50 ms; 20 requests go out in the first second
      const { limiter, clock } = limiterWith({ maxConcurrency: 100, increaseAfter: 10 });
      const { grants, acquire } = track(limiter, clock);
      for (let i = 0; i < 20; i++) acquire();
      await settle();
      await clock.advance(50);

      // Act: one of them comes back 429
      grants[0]?.release('throttled');
      const learned = limiter.effectiveRps;
      for (const grant of grants.slice(1)) grant.release('ok');
      for (let i = 0; i < 10; i++) acquire();
      for (let t = 0; t < 3000; t += 10) {
        for (const grant of grants.slice(20)) if (grant.at + 50 === clock.now()) grant.release('ok');
        await clock.advance(10);
      }

      // Assess: 18/s learned, so the next ten go about 56 ms apart, not all at once
      expect(learned).toBeCloseTo(18);
      const gaps = grants.slice(21, 30).map((grant, i) => grant.at - (grants[20 + i]?.at ?? 0));
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(50);
      expect(limiter.effectiveRps).toBeGreaterThan(18);
    });

    it('keeps a fixed rate as it is after a 429', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ rps: 4 });
      const { grants, acquire } = track(limiter, clock);
      acquire();
      await settle();

      // Act
      grants[0]?.release('throttled');

      // Assess
      expect(limiter.effectiveRps).toBe(4);
    });

    it('defaults burst to 1', () => {
      // Act
      const { limiter } = limiterWith({ rps: 2.5 });

      // Assess
      expect(limiter.burst).toBe(1);
    });

    it('waits with one timer at a time, not a busy loop', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ rps: 1, burst: 1, maxConcurrency: 10 });
      const { grants, acquire } = track(limiter, clock);

      // Act
      for (let i = 0; i < 5; i++) acquire();
      await settle();
      const timersWhileWaiting = clock.pendingTimers;
      await clock.advance(10_000);

      // Assess
      expect(timersWhileWaiting).toBe(1);
      expect(grants.length).toBe(5);
      expect(clock.sleeps.length).toBeLessThanOrEqual(8);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('tokens per minute', () => {
    it('charges each request its estimate and waits for the budget to refill', async () => {
      // Prepare: 600 tokens a minute is 10 a second.
      const { limiter, clock } = limiterWith({ tpm: 600, maxConcurrency: 10 });
      const { grants, acquire } = track(limiter, clock);

      // Act
      acquire(500);
      acquire(200);
      await settle();
      const atOnce = grants.length;
      await clock.advance(10_000);

      // Assess: 100 left, 100 more needed, at 10 per second.
      expect(atOnce).toBe(1);
      expect(grants.map((grant) => grant.at)).toEqual([0, 10_000]);
    });

    it('lets a request larger than the whole budget go when the budget is full', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ tpm: 600, maxConcurrency: 10 });
      const { grants, acquire } = track(limiter, clock);

      // Act
      acquire(1000);
      acquire(1);
      await clock.advance(40_000);
      const early = grants.length;
      await clock.advance(100);

      // Assess: the big one left a debt of 400 tokens (40 s), then one token (0.1 s).
      expect(early).toBe(1);
      expect(grants.map((grant) => grant.at)).toEqual([0, 40_100]);
    });

    it('gives back what the estimate overcharged when the server reports fewer tokens', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ tpm: 600, maxConcurrency: 10 });
      const { grants, acquire } = track(limiter, clock);
      const release = await limiter.acquire(600);

      // Act
      release('ok', 100);
      acquire(500);
      await settle();

      // Assess
      expect(grants.length).toBe(1);
    });
  });

  describe('pause', () => {
    it('holds every acquirer until a pause ends, even with free slots', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ maxConcurrency: 10 });
      const { grants, acquire } = track(limiter, clock);

      // Act
      limiter.pauseFor(2000);
      acquire();
      acquire();
      await clock.advance(1999);
      const during = grants.length;
      await clock.advance(1);

      // Assess
      expect(during).toBe(0);
      expect(grants.map((grant) => grant.at)).toEqual([2000, 2000]);
      expect(limiter.pausedForMs).toBe(0);
    });

    it('keeps the longer of two pauses', async () => {
      // Prepare
      const { limiter, clock } = limiterWith();
      const { grants, acquire } = track(limiter, clock);

      // Act
      limiter.pauseFor(3000);
      limiter.pauseFor(500);
      acquire();
      await clock.advance(2999);
      const during = grants.length;
      await clock.advance(1);

      // Assess
      expect(during).toBe(0);
      expect(grants.length).toBe(1);
    });

    it('extends the wait of acquirers already waiting when a new pause comes', async () => {
      // Prepare
      const { limiter, clock } = limiterWith();
      const { grants, acquire } = track(limiter, clock);
      limiter.pauseFor(1000);
      acquire();
      await clock.advance(500);

      // Act
      limiter.pauseFor(2000);
      await clock.advance(1000);
      const atOriginalEnd = grants.length;
      await clock.advance(1000);

      // Assess
      expect(atOriginalEnd).toBe(0);
      expect(grants.map((grant) => grant.at)).toEqual([2500]);
    });

    it('pauses until the reset when the server says no requests remain', async () => {
      // Prepare
      const { limiter, clock } = limiterWith();
      const { grants, acquire } = track(limiter, clock);

      // Act
      limiter.observe({ limitRequests: 10, remainingRequests: 0, resetRequestsMs: 1500 });
      limiter.observe({ remainingRequests: 3, resetRequestsMs: 9000 });
      acquire();
      await clock.advance(1500);

      // Assess
      expect(grants.map((grant) => grant.at)).toEqual([1500]);
    });

    it('pauses until the token reset when the server says no tokens remain', () => {
      // Prepare
      const { limiter } = limiterWith();

      // Act
      limiter.observe({ remainingTokens: 0, resetTokensMs: 700 });

      // Assess
      expect(limiter.pausedForMs).toBe(700);
    });
  });

  describe('abort', () => {
    it('rejects a waiting acquirer with the signal reason and serves the next', async () => {
      // Prepare
      const { limiter, clock } = limiterWith({ maxConcurrency: 1 });
      const { grants, errors, acquire } = track(limiter, clock);
      const controller = new AbortController();
      acquire();
      acquire(1, controller.signal);
      acquire();
      await settle();

      // Act
      controller.abort(new Error('job stopped'));
      await settle();
      grants[0]?.release('ok');
      await settle();

      // Assess
      expect(errors).toEqual([new Error('job stopped')]);
      expect(grants.map((grant) => grant.id)).toEqual([0, 2]);
      expect(limiter.waiting).toBe(0);
    });

    it('rejects at once when the signal is already aborted', async () => {
      // Prepare
      const { limiter } = limiterWith();
      const signal = AbortSignal.abort(new Error('already'));

      // Act
      const acquiring = limiter.acquire(1, signal);

      // Assess
      await expect(acquiring).rejects.toThrow('already');
      expect(limiter.inFlight).toBe(0);
    });

    it('drops its timer when the last waiter leaves', async () => {
      // Prepare
      const { limiter, clock } = limiterWith();
      const { acquire } = track(limiter, clock);
      const controller = new AbortController();
      limiter.pauseFor(60_000);
      acquire(1, controller.signal);
      await settle();

      // Act
      controller.abort();
      await settle();

      // Assess
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('options', () => {
    it.each([
      [{ rps: 0 }, 'Expected `rps` to be a positive number, got 0'],
      [{ rps: 1, burst: 1.5 }, 'Expected `burst` to be a positive integer, got 1.5'],
      [{ burst: 2 }, 'Expected `burst` only together with `rps`'],
      [{ tpm: -1 }, 'Expected `tpm` to be a positive number, got -1'],
      [{ maxConcurrency: 0 }, 'Expected `maxConcurrency` to be a positive integer, got 0'],
      [{ increaseAfter: Number.NaN }, 'Expected `increaseAfter` to be a positive integer, got NaN'],
    ])('refuses %j', (options, message) => {
      // Act
      const act = () => new RateLimiter(options);

      // Assess
      expect(act).toThrow(message);
    });

    it('refuses a negative token estimate', async () => {
      // Prepare
      const { limiter } = limiterWith();

      // Act
      const acquiring = limiter.acquire(-1);

      // Assess
      await expect(acquiring).rejects.toThrow(
        'Expected `estimatedTokens` to be a non-negative number, got -1',
      );
    });
  });
});
