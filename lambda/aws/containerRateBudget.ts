import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RATE_BUDGET_MAX_ATTEMPTS, rateBudgetOn } from '../budget/DynamoRateBudget.ts';
import type { LambdaConfig } from './loadConfig.ts';

let client: DynamoDBClient | undefined;

/**
 * The shared rate budget of a deployed function (`RATE_TABLE`), with one
 * DynamoDB client per container, built on first use; undefined without a table.
 */
export function containerRateBudget(config: LambdaConfig): ReturnType<typeof rateBudgetOn> {
  return rateBudgetOn(
    config.rateTable,
    () => (client ??= new DynamoDBClient({ maxAttempts: RATE_BUDGET_MAX_ATTEMPTS })),
    { burst: config.burst },
  );
}
