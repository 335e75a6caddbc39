import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureRateTable } from '../../lambda/budget/ensureRateTable.ts';
import { startLocalServer } from '../../lambda/serve/startLocalServer.ts';
import type { LocalServer } from '../../lambda/serve/types.ts';
import { type LocalDynamo, startLocalDynamo } from '../helpers/dynamoServer.ts';
import { failures, lambdaContext, sqsEvent, sqsS3Message } from '../helpers/events.ts';
import { type LocalS3, startLocalS3 } from '../helpers/s3Server.ts';
import { type CapturedOutput, captureOutput } from './captureOutput.ts';

const BUCKET = 'embed-batch-budget-it';
const TABLE = 'EmbedBatch-RateBudget';

describe('Function: handler (with RATE_TABLE)', () => {
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let server: LocalServer;
  let output: CapturedOutput | undefined;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await s3.createBucket(BUCKET);
    dynamo = await startLocalDynamo();
    // The stack creates the table; the function only draws on it.
    await ensureRateTable(dynamo.newClient(), TABLE);
    server = await startLocalServer({ rps: 20, quiet: true });
  });

  afterAll(async () => {
    output?.restore();
    vi.unstubAllEnvs();
    await server?.close();
    await dynamo?.stop();
    await s3?.stop();
  });

  it('draws every request of a job from the table named by RATE_TABLE, through the SDK’s standard settings', async () => {
    // Prepare
    const body = `id,text\n${Array.from({ length: 12 }, (_, i) => `${i + 1},row ${i + 1}`).join('\n')}\n`;
    const { etag, size } = await s3.putObject(BUCKET, 'input/budget.csv', body);
    for (const [name, value] of Object.entries(dynamo.env)) vi.stubEnv(name, value as string);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
    vi.stubEnv('EMBEDDINGS_BASE_URL', server.url);
    vi.stubEnv('EMBEDDINGS_MODEL', 'local/feature-hash');
    vi.stubEnv('EMBED_BATCH_SIZE', '1');
    vi.stubEnv('RATE_TABLE', TABLE);
    vi.stubEnv('EMBED_RPS', '20');
    vi.stubEnv('EMBED_BURST', '2');
    const { handler } = await import('../../lambda/handler.ts');
    output = captureOutput();

    // Act
    let response: SQSBatchResponse | undefined;
    try {
      response = await handler(
        sqsEvent(sqsS3Message([{ bucket: BUCKET, key: 'input/budget.csv', etag, size }])),
        lambdaContext(),
      );
    } finally {
      output.restore();
    }

    // Assess: the job completed, and its requests were leased from the budget's item.
    expect(failures(response), output.text()).toEqual([]);
    expect(server.stats.byStatus['200']).toBe(12);
    const { Item } = await dynamo
      .newClient()
      .send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'rate-budget#default' } } }));
    expect(Number(Item?.version?.N)).toBeGreaterThanOrEqual(1);
    expect(Item?.rps?.N).toBe('20');
    // Paced by the budget (EMBED_BURST 2: the first two at once): 12 requests span at least 10 intervals.
    const arrivals = server.log.map((entry) => entry.receivedAt);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual((10 * 1000) / 20);
  });
});
