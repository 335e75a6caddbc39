import { DescribeTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRateBudget } from '../../lambda/budget/DynamoRateBudget.ts';
import { ensureRateTable } from '../../lambda/budget/ensureRateTable.ts';
import { FIXED_RATE_PACE } from '../../lambda/embed/RateLimiter.ts';
import { RateBudgetError } from '../../lambda/errors.ts';
import { maxInWindow } from '../../lambda/serve/RequestLog.ts';
import { type LocalDynamo, startLocalDynamo } from '../helpers/dynamoServer.ts';

let dynamo: LocalDynamo;

beforeEach(async () => {
  dynamo = await startLocalDynamo();
});

afterEach(async () => {
  await dynamo.stop();
});

describe('Class: DynamoRateBudget', () => {
  it('creates its table on first use, on demand and keyed by `pk`, and leases evenly paced send times', async () => {
    // Prepare
    const client = dynamo.newClient();
    const budget = new DynamoRateBudget({ client, table: 'budget-new', rps: 10, createTable: true });

    // Act
    const first = await budget.lease({ requests: 2, tokens: 0 });
    const second = await budget.lease({ requests: 2, tokens: 0 });

    // Assess
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'budget-new' }));
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const interval = 1000 / (10 * FIXED_RATE_PACE);
    expect(first.delaysMs[0]).toBeLessThanOrEqual(0);
    expect(first.delaysMs).toHaveLength(2);
    expect(second.delaysMs).toHaveLength(2);
    // The second lease continues one interval after the first (allow for the ms the calls took).
    expect((second.delaysMs[1] ?? 0) - (second.delaysMs[0] ?? 0)).toBeCloseTo(interval, 2);
    expect((first.delaysMs[1] ?? 0) - (first.delaysMs[0] ?? 0)).toBeCloseTo(interval, 2);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: 'budget-new', Key: { pk: { S: 'rate-budget#default' } } }),
    );
    expect(Item?.version?.N).toBe('2');
  });

  it('asks for at most a fifth of a second of the budget per lease', () => {
    // Prepare
    const client = dynamo.newClient();

    // Assess
    expect(new DynamoRateBudget({ client, table: 'budget', rps: 20 }).leaseRequests).toBe(4);
    expect(new DynamoRateBudget({ client, table: 'budget', rps: 5 }).leaseRequests).toBe(1);
  });

  it('keeps many processes together within the rate, with about one call per lease and no write lost', async () => {
    // Prepare: eight budgets on one table, as eight processes would hold them.
    await ensureRateTable(dynamo.newClient(), 'budget-shared');
    const budgets = Array.from(
      { length: 8 },
      () => new DynamoRateBudget({ client: dynamo.newClient(), table: 'budget-shared', rps: 50 }),
    );
    const started = Date.now();

    // Act: each leases 10 times, all at once.
    const leased = await Promise.all(
      budgets.map(async (budget) => {
        const times: number[] = [];
        for (let i = 0; i < 10; i++) {
          const lease = await budget.lease({ requests: 5, tokens: 0 });
          const now = Date.now();
          times.push(...lease.delaysMs.map((delay) => now + delay));
        }
        return times;
      }),
    );

    // Assess: 400 send times, no two closer than the paced interval allows (burst 1), the whole span at the rate.
    const all = leased.flat().sort((a, b) => a - b);
    expect(all).toHaveLength(400);
    expect(maxInWindow(all, 1000)).toBeLessThanOrEqual(51);
    const spanSeconds = ((all.at(-1) ?? 0) - (all[0] ?? 0)) / 1000;
    expect(399 / spanSeconds).toBeLessThanOrEqual(50);
    expect(all[0]).toBeGreaterThanOrEqual(started - 5);
    const calls = budgets.reduce((sum, budget) => sum + budget.calls, 0);
    // Booked ahead, a lease is one atomic ADD; only leases that find the budget idle read and write.
    expect(calls).toBeGreaterThanOrEqual(80);
    expect(calls).toBeLessThan(120);
  });

  it('fails a lease with a retryable RateBudgetError naming the table when DynamoDB cannot be reached', async () => {
    // Prepare: a server that is gone.
    const client = dynamo.newClient();
    await dynamo.stop();
    const budget = new DynamoRateBudget({ client, table: 'budget-gone', rps: 5 });

    // Act
    const error = await budget.lease({ requests: 1, tokens: 0 }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(RateBudgetError);
    expect((error as RateBudgetError).retryable).toBe(true);
    expect((error as RateBudgetError).table).toBe('budget-gone');
    expect((error as Error).message).toMatch(
      /^rate budget table budget-gone could not be (read|written) \(.+\); no request was sent without a permit$/,
    );
    dynamo = await startLocalDynamo();
  });

  it('fails when the table does not exist and it may not create it', async () => {
    // Prepare
    const budget = new DynamoRateBudget({ client: dynamo.newClient(), table: 'budget-missing', rps: 5 });

    // Act
    const error = await budget.lease({ requests: 1, tokens: 0 }).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(RateBudgetError);
    expect((error as Error).message).toContain('ResourceNotFoundException');
  });

  it.each([
    [{ rps: 0 }, /`rps` to be a positive number, got 0/],
    [{ burst: 1.5 }, /`burst` to be a positive integer, got 1.5/],
    [{ table: 'ab' }, /`--rate-table` to be a DynamoDB table name/],
  ])('rejects %o at the door', (change, message) => {
    expect(
      () => new DynamoRateBudget({ client: dynamo.newClient(), table: 'budget', rps: 5, ...change }),
    ).toThrow(message);
  });
});
