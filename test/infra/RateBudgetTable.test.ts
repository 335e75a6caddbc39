import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionNamed, type Statement, statementsOf, synthEmbedBatch } from './synthEmbedBatch.ts';

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** Every DynamoDB action a function's role is granted. */
function dynamoActions(template: Template, handler: string): string[] {
  return statementsOf(template, handler)
    .flatMap(actionsOf)
    .filter((action) => action.startsWith('dynamodb:'));
}

describe('Construct: RateBudgetTable (in EmbedBatchStack)', () => {
  let template: Template;
  let tableId: string;

  beforeAll(() => {
    ({ template } = synthEmbedBatch());
    [tableId] = Object.keys(template.findResources('AWS::DynamoDB::Table')) as [string];
  });

  it('is one on-demand table keyed by a generic string `pk`, deleted with the stack, without PITR', () => {
    // Assess
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table'))).toHaveLength(1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: Match.absent(),
      },
    });
  });

  it('lets the job function and the shard worker get and update its items, and nothing more', () => {
    for (const handler of ['index.handler', 'index.shard']) {
      // Act
      const statement = statementsOf(template, handler).find((s) => s.Sid === 'DrawRateBudget');

      // Assess
      expect(statement, handler).toBeDefined();
      expect(actionsOf(statement as Statement).sort(), handler).toEqual([
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
      ]);
      expect((statement as Statement).Resource, handler).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
      expect(dynamoActions(template, handler).sort(), handler).toEqual([
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
      ]);
    }
  });

  it('grants nothing on it to the functions that send no embedding requests', () => {
    // Prepare
    const { template: withReindex } = synthEmbedBatch({ reindexSchedule: 'rate(1 day)' });

    // Assess
    for (const handler of ['index.plan', 'index.finalise', 'index.reindex']) {
      expect(dynamoActions(withReindex, handler), handler).toEqual([]);
      expect(
        Object.keys(
          (functionNamed(withReindex, handler)[1].Properties.Environment as { Variables: object }).Variables,
        ),
      ).not.toContain('RATE_TABLE');
    }
  });

  it('names the table and the whole budget in the environment of every function that draws', () => {
    // Act
    const { template: custom } = synthEmbedBatch({
      rateBudgetRps: 10,
      rateBudgetBurst: 10,
      rateBudgetTpm: 600_000,
      maxConcurrency: 8,
      largeFileConcurrency: 16,
    });
    const [customTableId] = Object.keys(custom.findResources('AWS::DynamoDB::Table')) as [string];

    // Assess: neither maxConcurrency nor largeFileConcurrency divides the rate any more.
    for (const handler of ['index.handler', 'index.shard']) {
      expect(functionNamed(custom, handler)[1].Properties, handler).toMatchObject({
        Environment: {
          Variables: {
            RATE_TABLE: { Ref: customTableId },
            EMBED_RPS: '10',
            EMBED_BURST: '10',
            EMBED_TPM: '600000',
          },
        },
      });
    }
  });

  it('leaves EMBED_TPM out when no token budget is set', () => {
    for (const handler of ['index.handler', 'index.shard']) {
      const variables = (functionNamed(template, handler)[1].Properties.Environment as { Variables: object })
        .Variables;
      expect(Object.keys(variables), handler).not.toContain('EMBED_TPM');
    }
  });
});
