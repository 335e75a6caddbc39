import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { integerProp, positiveNumberProp } from './errors.ts';

/** Props of `RateBudgetTable`. */
export interface RateBudgetTableProps {
  /** Requests per second every function together may send (`rateBudgetRps`). */
  readonly rps: number;
  /** Requests that may go at once after an idle spell (`rateBudgetBurst`). @default 1 (evenly paced) */
  readonly burst?: number;
  /** Tokens per minute every function together may use (`rateBudgetTpm`). @default - no token budget */
  readonly tpm?: number;
}

/**
 * The rate budget every function that calls the endpoint draws on: one
 * on-demand DynamoDB table holding a token-bucket item that each invocation
 * and shard worker leases send times from (lambda/budget/DynamoRateBudget.ts).
 * A lone job then gets the whole budget, and many share it.
 *
 * The key schema is generic (partition key `pk`, a string), so other small
 * coordination items, such as output-folder leases, can live in the same
 * table under their own keys. The items are seconds-old state, rebuilt on
 * first use: no point-in-time recovery, and the table goes with the stack.
 */
export class RateBudgetTable extends Construct {
  public readonly table: dynamodb.Table;
  public readonly rps: number;
  public readonly burst: number;
  public readonly tpm?: number;

  constructor(scope: Construct, id: string, props: RateBudgetTableProps) {
    super(scope, id);
    this.rps = positiveNumberProp(props.rps, 'rps');
    this.burst = integerProp(props.burst ?? 1, 'burst', 1);
    this.tpm = props.tpm === undefined ? undefined : integerProp(props.tpm, 'tpm', 1);

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The table holds only the rate budget: a few numbers that are stale within a second and rebuilt on first use. There is nothing to recover.',
    });
  }

  /**
   * Lets `fn` draw on the budget: `dynamodb:GetItem` and `dynamodb:UpdateItem`
   * on this table only (no scans, no deletes, no table management), and the
   * environment that names the table and the budget.
   */
  drawFrom(fn: lambda.Function): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DrawRateBudget',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.table.tableArn],
      }),
    );
    for (const [name, value] of Object.entries(this.environment())) fn.addEnvironment(name, value);
  }

  /** `RATE_TABLE` and the budget: `EMBED_RPS`, `EMBED_BURST` and, when set, `EMBED_TPM`. */
  environment(): Record<string, string> {
    return {
      RATE_TABLE: this.table.tableName,
      EMBED_RPS: String(this.rps),
      EMBED_BURST: String(this.burst),
      ...(this.tpm === undefined ? {} : { EMBED_TPM: String(this.tpm) }),
    };
  }
}
