import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRateBudget } from '../../lambda/budget/DynamoRateBudget.ts';
import { createEmbedder } from '../../lambda/embed/createEmbedder.ts';
import { FIXED_RATE_PACE, RateLimiter } from '../../lambda/embed/RateLimiter.ts';
import { RateBudgetError } from '../../lambda/errors.ts';
import { CLI_FLAGS } from '../../lambda/optionNames.ts';
import { maxInWindow } from '../../lambda/serve/RequestLog.ts';
import { type LocalDynamo, startLocalDynamo } from '../helpers/dynamoServer.ts';

let dynamo: LocalDynamo;

beforeEach(async () => {
  dynamo = await startLocalDynamo();
});

afterEach(async () => {
  await dynamo.stop();
});

function budget(options: { rps: number; tpm?: number; table?: string }): DynamoRateBudget {
  return new DynamoRateBudget({
    client: dynamo.newClient(),
    table: options.table ?? 'budget',
    createTable: true,
    ...options,
  });
}

/** Acquires `count` grants in a row, releasing each at once; returns when each was granted (ms). */
async function grantTimes(limiter: RateLimiter, count: number, tokens = 1): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: count }, async () => {
      const release = await limiter.acquire(tokens);
      times.push(performance.now());
      release('ok', tokens);
    }),
  );
  return times.sort((a, b) => a - b);
}

describe('Class: RateLimiter (with a shared budget)', () => {
  it('grants requests at the send times leased from the budget, paced at its rate', async () => {
    // Prepare
    const limiter = new RateLimiter({ budget: budget({ rps: 20 }), maxConcurrency: 4 });

    // Act
    const times = await grantTimes(limiter, 21);

    // Assess: 20 intervals of 1 / (20 x 0.97) s, less the one slot a grant may run late.
    const spanMs = (times.at(-1) ?? 0) - (times[0] ?? 0);
    expect(spanMs).toBeGreaterThanOrEqual((19 * 1000) / (20 * FIXED_RATE_PACE));
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(21);
    expect(spanMs).toBeLessThan(2_000);
    expect(limiter.effectiveRps).toBe(20);
    expect(limiter.inFlight).toBe(0);
  });

  it('shares the budget between two limiters: together they keep to its rate', async () => {
    // Prepare: two jobs (as in two processes) on one table.
    const first = new RateLimiter({ budget: budget({ rps: 20 }), maxConcurrency: 4 });
    const second = new RateLimiter({ budget: budget({ rps: 20 }), maxConcurrency: 4 });
    await grantTimes(first, 1);

    // Act
    const [a, b] = await Promise.all([grantTimes(first, 15), grantTimes(second, 15)]);

    // Assess
    const all = [...(a ?? []), ...(b ?? [])].sort((x, y) => x - y);
    const spanMs = (all.at(-1) ?? 0) - (all[0] ?? 0);
    // A grant may use its slot up to a slot late, so allow one interval of slack at either end.
    expect(spanMs).toBeGreaterThanOrEqual((27 * 1000) / (20 * FIXED_RATE_PACE));
    expect(maxInWindow(all, 1000)).toBeLessThanOrEqual(21);
  });

  it('fails the waiting requests with the budget’s RateBudgetError when DynamoDB is gone, and sends none', async () => {
    // Prepare
    const limiter = new RateLimiter({ budget: budget({ rps: 20, table: 'budget-gone' }) });
    await dynamo.stop();

    // Act
    const outcomes = await Promise.allSettled([limiter.acquire(1), limiter.acquire(1)]);

    // Assess
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RateBudgetError);
    }
    expect(limiter.inFlight).toBe(0);
    expect(limiter.waiting).toBe(0);
    dynamo = await startLocalDynamo();
  });

  it('charges tokens to the budget, corrected next lease by what the server counted', async () => {
    // Prepare: 6000 tokens/minute, 100 a second; two jobs, one whose estimate was right, one whose was high.
    const exact = new RateLimiter({ budget: budget({ rps: 100, tpm: 6_000, table: 'tokens-exact' }) });
    const overestimated = new RateLimiter({ budget: budget({ rps: 100, tpm: 6_000, table: 'tokens-high' }) });

    // Act: each spends a whole minute's estimate, then asks for 100 more.
    const waited = await Promise.all(
      [
        [exact, 6_000],
        [overestimated, 1_000],
      ].map(async ([limiter, used]) => {
        const first = await (limiter as RateLimiter).acquire(6_000);
        first('ok', used as number);
        const started = performance.now();
        (await (limiter as RateLimiter).acquire(100))('ok', 100);
        return performance.now() - started;
      }),
    );

    // Assess: 100 tokens take a second to come back; 5000 given back need no wait.
    expect(waited[0]).toBeGreaterThanOrEqual(900);
    expect(waited[1]).toBeLessThan(500);
  });

  it('takes rps, burst and tpm from the budget only', () => {
    expect(() => new RateLimiter({ budget: budget({ rps: 5 }), rps: 5 })).toThrow(
      'Expected `rps`, `burst` and `tpm` from the shared `budget`, not beside it',
    );
  });
});

describe('Function: createEmbedder (with a shared budget)', () => {
  it('builds the budget from the resolved rate and fails the job with its error once retries run out', async () => {
    // Prepare
    let rate: unknown;
    const { embedder, limiter } = createEmbedder({
      model: 'local/feature-hash',
      rps: 7,
      burst: 2,
      concurrency: 2,
      retries: 1,
      minTimeoutMs: 1,
      rateBudget: (resolved) => {
        rate = resolved;
        return budget({ ...resolved, table: 'budget-embedder' });
      },
    });
    await dynamo.stop();

    // Act
    const error = await embedder.embedBatch(['a']).catch((caught: unknown) => caught);

    // Assess
    expect(rate).toEqual({ rps: 7, burst: 2, tpm: undefined });
    expect(limiter.effectiveRps).toBe(7);
    expect(error).toBeInstanceOf(RateBudgetError);
    expect((error as Error).message).toMatch(
      /rate budget table budget-embedder .*no request was sent without a permit/,
    );
    expect(embedder.requests.sent).toBe(0);
    dynamo = await startLocalDynamo();
  });

  it("needs a rate for a shared budget, and says so in the caller's names", () => {
    const options = {
      model: 'x',
      baseUrl: 'http://127.0.0.1:1/v1',
      concurrency: 1,
      rateBudget: (resolved: Parameters<typeof budget>[0]) => budget(resolved),
    };
    expect(() => createEmbedder(options)).toThrow('Expected `rps` with `rateBudget`');
    expect(() => createEmbedder(options, CLI_FLAGS)).toThrow('Expected `--rps` with `--rate-table`');
  });
});
