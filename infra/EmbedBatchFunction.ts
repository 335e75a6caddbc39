import path from 'node:path';
import { CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDLER_ENTRY, handlerBundling, PROJECT_ROOT } from './bundling.ts';
import { integerProp, keyPrefixProps, PropsError } from './errors.ts';
import { functionRoleAndLogs } from './functionRoleAndLogs.ts';
import type { RateBudgetTable } from './RateBudgetTable.ts';

/** Props of `EmbedBatchFunction`. */
export interface EmbedBatchFunctionProps {
  /** The bucket holding inputs and outputs. */
  readonly bucket: s3.IBucket;
  /** Key prefix the function reads inputs from; ends in `/`. */
  readonly inputPrefix: string;
  /** Key prefix the function writes output folders under; ends in `/`. */
  readonly outputPrefix: string;
  /** The queue of S3 notifications the function consumes. */
  readonly queue: sqs.IQueue;
  /** The secret holding the endpoint's API token; only its ARN reaches the function. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /** `EMBEDDINGS_BASE_URL`. */
  readonly baseUrl: string;
  /** `EMBEDDINGS_MODEL`. */
  readonly model: string;
  /**
   * The rate budget every invocation draws on (`RATE_TABLE`, `EMBED_RPS`,
   * `EMBED_BURST`, `EMBED_TPM`): a lone invocation gets all of it.
   */
  readonly rateBudget: RateBudgetTable;
  /** `EMBED_CONCURRENCY`: embedding requests one invocation keeps in flight. @default 4 */
  readonly requestConcurrency?: number;
  /** Most concurrent invocations the SQS event source starts (2 to 1000). @default 2 */
  readonly maxConcurrency?: number;
  /**
   * Messages (uploads) one invocation takes at once (1 to 10): their rows
   * share requests, so small files do not each cost a request and an
   * invocation of their own. Failures are reported per message. @default 10
   */
  readonly messagesPerInvocation?: number;
  /** How long the event source gathers messages before invoking (0 to 300 s). @default Duration.seconds(2) */
  readonly batchingWindow?: Duration;
  /** Memory in MB. @default 1769 (one full vCPU) */
  readonly memorySize?: number;
  /** Time limit of one invocation, at most 15 minutes. @default Duration.minutes(15) */
  readonly timeout?: Duration;
  /**
   * The handler's source file (exporting `handler`), absolute or relative
   * to the project root.
   * @default 'lambda/handler.ts'
   */
  readonly entry?: string;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** `POWERTOOLS_SERVICE_NAME`. @default 'embed-batch' */
  readonly serviceName?: string;
  /** `POWERTOOLS_METRICS_NAMESPACE`. @default 'EmbedBatch' */
  readonly metricsNamespace?: string;
}

/**
 * The embedding job's Lambda function: bundled from `lambda/handler.ts`,
 * fed one S3 notification at a time from the job queue by at most
 * `maxConcurrency` concurrent invocations, with a role that can do exactly
 * what the job does and nothing else:
 *
 * - read objects under the input prefix (and HEAD them);
 * - read, write and delete objects under the output prefix (the manifest is
 *   read back to skip finished jobs; stale parts are deleted);
 * - list keys under those two prefixes only: S3 answers a GET/HEAD of a
 *   missing key with 404 rather than 403 only to callers that may list it,
 *   and the job tells "not there" (first run, deleted input) from "denied";
 * - read the API token secret, write its own log group, send X-Ray traces,
 *   consume the queue (granted by the event source);
 * - get and update the rate budget's item (`RateBudgetTable.drawFrom`).
 *
 * `maxConcurrency` bounds how many files are embedded at once; the shared
 * rate budget, not a division of it, keeps them within the endpoint's rate.
 */
export class EmbedBatchFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  /** The function's execution role (no managed policies). */
  public readonly role: iam.Role;
  /** The function's log group, created here so its retention is set. */
  public readonly logGroup: logs.LogGroup;
  /** The SQS event source mapping (batch size 1, partial batch responses). */
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: EmbedBatchFunctionProps) {
    super(scope, id);
    const memorySize = integerProp(props.memorySize ?? 1769, 'memorySize', 128, 10_240);
    const maxConcurrency = integerProp(props.maxConcurrency ?? 2, 'maxConcurrency', 2, 1000);
    const requestConcurrency = integerProp(props.requestConcurrency ?? 4, 'requestConcurrency', 1);
    const timeout = props.timeout ?? Duration.minutes(15);
    integerProp(timeout.toSeconds(), 'timeout (seconds)', 1, 900);
    keyPrefixProps(props);
    if (
      props.inputPrefix.startsWith(props.outputPrefix) ||
      props.outputPrefix.startsWith(props.inputPrefix)
    ) {
      throw new PropsError(
        'outputPrefix',
        `Expected \`inputPrefix\` (${props.inputPrefix}) and \`outputPrefix\` (${props.outputPrefix}) not to contain one another`,
      );
    }
    const entry = path.resolve(PROJECT_ROOT, props.entry ?? HANDLER_ENTRY);

    ({ logGroup: this.logGroup, role: this.role } = functionRoleAndLogs(
      this,
      'embed-batch job: reads inputs, writes outputs, reads the API token secret',
      props.logRetention,
    ));

    const { bucket, inputPrefix, outputPrefix } = props;
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadInputs',
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${inputPrefix}*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadOwnOutputs',
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${outputPrefix}*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOutputs',
        actions: ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [bucket.arnForObjects(`${outputPrefix}*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListJobPrefixes',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${inputPrefix}*`, `${outputPrefix}*`] } },
      }),
    );
    props.apiKeySecret.grantRead(this.role);
    // A job short of time queues its own continuation (QUEUE_URL).
    props.queue.grantSendMessages(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'embed-batch: embeds uploaded CSV/JSONL files into Parquet/Arrow vectors',
      entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      bundling: handlerBundling,
      environment: {
        EMBEDDINGS_BASE_URL: props.baseUrl,
        EMBEDDINGS_MODEL: props.model,
        EMBEDDINGS_API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
        INPUT_PREFIX: inputPrefix,
        OUTPUT_PREFIX: outputPrefix,
        QUEUE_URL: props.queue.queueUrl,
        EMBED_CONCURRENCY: String(requestConcurrency),
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'embed-batch',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'EmbedBatch',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    const batchingWindow = props.batchingWindow ?? Duration.seconds(2);
    integerProp(batchingWindow.toSeconds(), 'batchingWindow (seconds)', 0, 300);
    this.eventSource = new SqsEventSource(props.queue, {
      batchSize: integerProp(props.messagesPerInvocation ?? 10, 'messagesPerInvocation', 1, 10),
      maxBatchingWindow: batchingWindow.toSeconds() === 0 ? undefined : batchingWindow,
      reportBatchItemFailures: true,
      maxConcurrency,
    });
    this.function.addEventSource(this.eventSource);
    props.rateBudget.drawFrom(this.function);

    this.acknowledgeFindings(bucket, inputPrefix, outputPrefix);
  }

  /** The cdk-nag findings this design accepts, each with its reason, on the role they are about. */
  private acknowledgeFindings(bucket: s3.IBucket, inputPrefix: string, outputPrefix: string): void {
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (tracing: ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level permissions.',
    });
    // cdk-nag names a bucket of this stack by its logical ID; an imported bucket's findings are the importer's to judge.
    const cfnBucket = bucket.node.defaultChild;
    if (!CfnResource.isCfnResource(cfnBucket)) return;
    const bucketArn = `<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>`;
    Validations.of(this.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${inputPrefix}*]`,
        reason: `s3:GetObject only, on objects under the input prefix ${inputPrefix}: input keys are not known at deploy time.`,
      },
      {
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${outputPrefix}*]`,
        reason: `Explicit object actions (no action wildcards) under the output prefix ${outputPrefix}, where the job writes one folder per input, named after it: keys are not known at deploy time.`,
      },
    );
  }
}
