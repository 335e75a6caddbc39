/**
 * Creates the shared rate budget's table on first use (the command line's
 * `--rate-table`; the deployed stack creates its own).
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/** How long to wait for a new table to become ACTIVE, in seconds. */
const ACTIVE_WITHIN_SECONDS = 120;

function named(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/**
 * Makes sure `table` exists and is ACTIVE: creates it when absent (on demand,
 * partition key `pk` of type string, nothing else, so other uses such as
 * output-folder leases can share it under their own keys), then waits.
 * Several processes may call this at once: the ones that lose the race to
 * create it wait like the winner.
 */
export async function ensureRateTable(client: DynamoDBClient, table: string): Promise<void> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
  } catch (error) {
    if (!named(error, 'ResourceNotFoundException')) throw error;
    try {
      await client.send(
        new CreateTableCommand({
          TableName: table,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
    } catch (createError) {
      if (!named(createError, 'ResourceInUseException')) throw createError;
    }
  }
  await waitUntilTableExists(
    { client, maxWaitTime: ACTIVE_WITHIN_SECONDS, minDelay: 1, maxDelay: 5 },
    { TableName: table },
  );
}
