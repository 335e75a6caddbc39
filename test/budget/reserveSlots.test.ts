import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BudgetState, EMPTY_BUDGET, reserveSlots } from '../../lambda/budget/reserveSlots.ts';
import { maxInWindow } from '../../lambda/serve/RequestLog.ts';

describe('Function: reserveSlots', () => {
  it('spaces the slots of a lone reserver one interval apart, starting now on an idle budget', () => {
    // Act
    const first = reserveSlots(EMPTY_BUDGET, { rps: 10, burst: 1 }, 3, 0, 1_000);
    const second = reserveSlots(first.state, { rps: 10, burst: 1 }, 2, 0, 1_050);

    // Assess: the second lease continues where the first ended, with no gap and no overlap.
    expect(first.slots).toEqual([1_000, 1_100, 1_200]);
    expect(second.slots).toEqual([1_300, 1_400]);
    expect(second.state).toEqual({ version: 2, requestsFullAt: 1_500, tokensFullAt: 0 });
  });

  it('lets a burst go at once after an idle spell, then paces', () => {
    // Act
    const { slots } = reserveSlots(
      { version: 4, requestsFullAt: 500, tokensFullAt: 0 },
      { rps: 10, burst: 3 },
      5,
      0,
      10_000,
    );

    // Assess
    expect(slots).toEqual([10_000, 10_000, 10_000, 10_100, 10_200]);
  });

  it('never lets interleaved reservers of any lease sizes exceed the rate and burst together', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ requests: fc.integer({ min: 1, max: 6 }), gapMs: fc.integer({ min: 0, max: 400 }) }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        fc.integer({ min: 1, max: 5 }),
        (leases, burst) => {
          // Act: leases by any number of processes, in the order their writes won.
          let state: BudgetState = EMPTY_BUDGET;
          let now = 0;
          const slots: number[] = [];
          for (const lease of leases) {
            now += lease.gapMs;
            const reservation = reserveSlots(state, { rps: 20, burst }, lease.requests, 0, now);
            state = reservation.state;
            slots.push(...reservation.slots);
          }

          // Assess: a token bucket of 20/s and `burst` allows burst + 20 x 1 s in any closed second.
          slots.sort((a, b) => a - b);
          expect(maxInWindow(slots, 1000)).toBeLessThanOrEqual(burst + 20);
          expect(maxInWindow(slots, 1)).toBeLessThanOrEqual(burst);
        },
      ),
    );
  });

  it('holds the first slot back until the tokens bucket holds the lease’s tokens', () => {
    // Prepare: 6000 tokens/minute = 100 per second; the first lease empties the bucket.
    const rate = { rps: 100, burst: 1, tpm: 6_000 };
    const first = reserveSlots(EMPTY_BUDGET, rate, 1, 6_000, 0);

    // Act
    const second = reserveSlots(first.state, rate, 1, 500, 0);

    // Assess: 500 tokens take 5 s to come back.
    expect(first.slots).toEqual([0]);
    expect(second.slots).toEqual([5_000]);
  });

  it('takes back tokens that earlier estimates overcharged', () => {
    // Prepare
    const rate = { rps: 100, burst: 1, tpm: 6_000 };
    const spent = reserveSlots(EMPTY_BUDGET, rate, 1, 6_000, 0).state;

    // Act: 3000 of the 6000 charged were not used after all.
    const refunded = reserveSlots(spent, rate, 1, -3_000, 0);
    const next = reserveSlots(refunded.state, rate, 1, 3_000, 0);

    // Assess: only the requests bucket paces it (two slots of 10 ms before), not 30 s of tokens.
    expect(next.slots).toEqual([20]);
  });
});
