import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createShardHandlers } from '../../lambda/aws/createShardHandlers.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { rateBudgetOn } from '../../lambda/budget/DynamoRateBudget.ts';
import { ensureRateTable } from '../../lambda/budget/ensureRateTable.ts';
import { maxInWindow } from '../../lambda/serve/RequestLog.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import type { ShardTask } from '../../lambda/shard/ShardPlan.ts';
import { S3Store } from '../../lambda/store/S3Store.ts';
import { type LocalDynamo, startLocalDynamo } from '../helpers/dynamoServer.ts';
import { lambdaContext } from '../helpers/events.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from '../lambda/captureOutput.ts';

const BUCKET = 'embed-batch-shard-budget';
const TABLE = 'EmbedBatch-RateBudget';
const RPS = 20;
const ROWS = 60;

describe('Integration: concurrent shard workers on one shared budget (local S3, dynalite, serve-local)', () => {
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let server: LocalServer;
  let output: CapturedOutput;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    dynamo = await startLocalDynamo();
    await ensureRateTable(dynamo.newClient(), TABLE);
    server = await startLocalServer({ rps: RPS, quiet: true });
  });

  afterAll(async () => {
    await server?.close();
    await dynamo?.stop();
    await s3?.stop();
  });

  beforeEach(() => {
    output = captureOutput();
  });

  afterEach(() => {
    output.restore();
  });

  it('keeps all workers of a large file together within the budget, each drawing from RATE_TABLE', async () => {
    // Prepare: a CSV cut into several shards, one row per request.
    const body = `id,text\n${Array.from({ length: ROWS }, (_, i) => `r-${i + 1},shard row ${i + 1}`).join('\n')}\n`;
    const { etag, size } = await s3.putObject(BUCKET, 'input/big/rows.csv', body);
    const config = loadConfig({
      EMBEDDINGS_BASE_URL: server.url,
      EMBEDDINGS_MODEL: 'local/feature-hash',
      EMBED_BATCH_SIZE: '1',
      EMBED_CONCURRENCY: '4',
      SHARD_BYTES: '300',
      RATE_TABLE: TABLE,
      EMBED_RPS: String(RPS),
    });
    const client = dynamo.newClient(3);
    // As shardHandlers.ts wires it.
    const handlers = createShardHandlers({
      config,
      store: new S3Store(s3.client),
      readSecret: async () => '',
      rateBudget: rateBudgetOn(config.rateTable, () => client, { burst: config.burst }),
    });

    // Act: plan, then every shard at once, as the Distributed Map runs them.
    const summary = await handlers.plan(
      { bucket: BUCKET, key: 'input/big/rows.csv', etag, size },
      lambdaContext(),
    );
    const reader = summary.itemReader;
    if (reader === undefined) throw new Error('no ItemReader location in the plan summary');
    const items = JSON.parse(
      new TextDecoder().decode(await s3.getBytes(reader.bucket, reader.key)),
    ) as ShardTask[];
    await Promise.all(items.map((item) => handlers.shard(item, lambdaContext())));
    const finalised = await handlers.finalise(summary, lambdaContext());

    // Assess: every row embedded, never more than the budget in any second, and the budget's item moved.
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(finalised.rows).toMatchObject({ read: ROWS, embedded: ROWS });
    expect(server.stats.byStatus).toEqual({ '200': ROWS });
    // A token bucket of 20/s and burst 1 lets at most 21 requests into any second.
    expect(
      maxInWindow(
        server.log.map((entry) => entry.receivedAt),
        1000,
      ),
    ).toBeLessThanOrEqual(RPS + 1);
    const span = (server.log.at(-1)?.receivedAt ?? 0) - (server.log[0]?.receivedAt ?? 0);
    expect(((ROWS - 1) * 1000) / span).toBeLessThanOrEqual(RPS);
    const { Item } = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'rate-budget#default' } } }),
    );
    expect(Number(Item?.version?.N)).toBeGreaterThanOrEqual(items.length);
  });
  it('completes two overlapping large-file runs on one budget: workers short of time continue instead of failing', async () => {
    // Prepare: two files, short invocations, every worker of both runs at once on one budget
    const keys = ['input/overlap/a.csv', 'input/overlap/b.csv'];
    const objects = [];
    for (const key of keys) {
      const body = `id,text\n${Array.from({ length: ROWS }, (_, i) => `${key.at(-5)}-${i + 1},overlap row ${i + 1} of ${key}`).join('\n')}\n`;
      objects.push({ key, ...(await s3.putObject(BUCKET, key, body)) });
    }
    const config = loadConfig({
      EMBEDDINGS_BASE_URL: server.url,
      EMBEDDINGS_MODEL: 'local/feature-hash',
      EMBED_BATCH_SIZE: '1',
      EMBED_CONCURRENCY: '2',
      SHARD_BYTES: '600',
      RATE_TABLE: TABLE,
      EMBED_RPS: String(RPS),
      EMBED_TIME_MARGIN_MS: '450',
      EMBED_CHECKPOINT_INTERVAL_MS: '100',
    });
    const client = dynamo.newClient(3);
    const handlers = createShardHandlers({
      config,
      store: new S3Store(s3.client),
      readSecret: async () => '',
      rateBudget: rateBudgetOn(config.rateTable, () => client, { burst: config.burst }),
    });
    const logBefore = server.log.length;

    // Act: both runs planned, then all their items, each run again while it answers `continue`
    const runs = await Promise.all(
      objects.map(async ({ key, etag, size }) => {
        const summary = await handlers.plan({ bucket: BUCKET, key, etag, size }, lambdaContext());
        const items = JSON.parse(
          new TextDecoder().decode(await s3.getBytes(BUCKET, summary.itemReader?.key ?? '')),
        ) as ShardTask[];
        return { summary, items };
      }),
    );
    let continued = 0;
    await Promise.all(
      runs.flatMap(({ items }) =>
        items.map(async (item) => {
          for (let runs = 1; ; runs++) {
            const outcome = await handlers.shard(item, lambdaContext(1_000));
            if (outcome.status === 'done') return;
            continued++;
            if (runs > 200) throw new Error(`shard ${item.index} did not finish`);
          }
        }),
      ),
    );
    const finalised = await Promise.all(
      runs.map(({ summary }) => handlers.finalise(summary, lambdaContext())),
    );

    // Assess: both complete, every row once, the aggregate within the budget
    expect(continued).toBeGreaterThan(0);
    for (const result of finalised)
      expect(result.rows).toMatchObject({ read: ROWS, embedded: ROWS, rejected: 0 });
    const arrivals = server.log.slice(logBefore).map((entry) => entry.receivedAt);
    expect(maxInWindow(arrivals, 1000)).toBeLessThanOrEqual(RPS + 1);
    expect(server.log.slice(logBefore).filter((entry) => entry.status === 429)).toEqual([]);
    // Invocations of 1 s stop sending at 550 ms (requests still waiting for a permit are not sent): many continuations.
  }, 180_000);
});
