import path from 'node:path';
import { CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmAbove } from './alarmAbove.ts';
import { HANDLER_ENTRY, handlerBundling, PROJECT_ROOT } from './bundling.ts';
import { integerProp, keyPrefixProps, PropsError } from './errors.ts';
import { functionRoleAndLogs } from './functionRoleAndLogs.ts';

/** Props of `ReindexSchedule`. */
export interface ReindexScheduleProps {
  /**
   * When to run: an EventBridge Scheduler expression, `rate(1 day)` or
   * `cron(0 3 * * ? *)` (UTC); validated by `readConfig`.
   */
  readonly schedule: string;
  /** The bucket holding inputs and outputs. */
  readonly bucket: s3.IBucket;
  /** The job's input prefix (scanned); ends in `/`. */
  readonly inputPrefix: string;
  /** The job's output prefix (manifests read); ends in `/`. */
  readonly outputPrefix: string;
  /** The job queue that stale inputs are sent to. */
  readonly queue: sqs.IQueue;
  /** `EMBEDDINGS_BASE_URL`, as the job function has it (it decides the model `loadConfig` resolves). */
  readonly baseUrl: string;
  /** `EMBEDDINGS_MODEL`, as the job function has it: outputs made with another model are stale. */
  readonly model: string;
  /** `EMBED_FORMAT`, as the job function has it (it sets none: parquet). @default 'parquet' */
  readonly format?: 'parquet' | 'arrow' | 'both';
  /**
   * The handler's source file (exporting `reindex`), absolute or relative to
   * the project root: the job's entry, so both read the settings alike.
   * @default 'lambda/handler.ts'
   */
  readonly entry?: string;
  /** Time limit of one run. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** Memory in MB. @default 512 */
  readonly memorySize?: number;
  /** `REINDEX_CONCURRENCY`: manifests read at once. @default 8 */
  readonly concurrency?: number;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** `POWERTOOLS_SERVICE_NAME`. @default 'embed-batch' */
  readonly serviceName?: string;
  /**
   * Topic notified when the dead-letter queue alarm fires and clears.
   * @default - an alarm without actions (visible in the console only)
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The scheduled reindex: an EventBridge Scheduler schedule invokes a small
 * function (handler `reindex` of the job's bundle) that lists the input
 * prefix, reads each input's output manifest and sends an S3 notification
 * for every input whose output is not current to the job queue. The job
 * then embeds them like uploads, so rate limits, retries and the dead-letter
 * queue stay in one place.
 *
 * The function's role can list the bucket under the job prefixes, read
 * objects under the output prefix (manifests; inputs are never read, their
 * ETag comes from the listing), send to the job queue, write its log group
 * and send to the reindex dead-letter queue. Runs that could not be
 * delivered (the schedule's retries exhausted) or that failed (Lambda's
 * asynchronous retries exhausted) land in that dead-letter queue, which
 * has an alarm.
 */
export class ReindexSchedule extends Construct {
  public readonly function: nodejs.NodejsFunction;
  /** The function's execution role (no managed policies). */
  public readonly role: iam.Role;
  /** The function's log group, created here so its retention is set. */
  public readonly logGroup: logs.LogGroup;
  public readonly schedule: scheduler.Schedule;
  /** Runs that were never delivered or failed every attempt. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Fires when a run lands in the dead-letter queue. */
  public readonly deadLetterQueueNotEmpty: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ReindexScheduleProps) {
    super(scope, id);
    const memorySize = integerProp(props.memorySize ?? 512, 'memorySize', 128, 10_240);
    const concurrency = integerProp(props.concurrency ?? 8, 'concurrency', 1, 64);
    const timeout = props.timeout ?? Duration.minutes(5);
    integerProp(timeout.toSeconds(), 'timeout (seconds)', 1, 900);
    if (!/^(rate|cron)\(.+\)$/.test(props.schedule)) {
      throw new PropsError(
        'schedule',
        `Expected \`schedule\` to be a rate(...) or cron(...) expression, got ${props.schedule}`,
      );
    }
    keyPrefixProps(props);
    const entry = path.resolve(PROJECT_ROOT, props.entry ?? HANDLER_ENTRY);
    const { bucket, inputPrefix, outputPrefix, queue } = props;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    ({ logGroup: this.logGroup, role: this.role } = functionRoleAndLogs(
      this,
      'embed-batch reindex: lists inputs, reads output manifests, enqueues stale inputs',
      props.logRetention,
    ));
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListJobPrefixes',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        // The output prefix too: S3 answers a GET of a missing manifest with 404 (not 403) only to callers that may list it.
        conditions: { StringLike: { 's3:prefix': [`${inputPrefix}*`, `${outputPrefix}*`] } },
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadManifests',
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${outputPrefix}*`)],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EnqueueStaleInputs',
        // Also authorizes SendMessageBatch.
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
      }),
    );
    if (queue.encryptionMasterKey !== undefined) {
      // A producer of a KMS-encrypted queue needs the data key SQS encrypts with.
      this.role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptForQueue',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [queue.encryptionMasterKey.keyArn],
        }),
      );
    }

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: 'embed-batch: enqueues inputs whose output is not current onto the job queue',
      entry,
      handler: 'reindex',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      bundling: handlerBundling,
      // Failed runs (after Lambda's two asynchronous retries) are kept with the undelivered ones.
      deadLetterQueue: this.deadLetterQueue,
      environment: {
        BUCKET: bucket.bucketName,
        QUEUE_URL: queue.queueUrl,
        INPUT_PREFIX: inputPrefix,
        OUTPUT_PREFIX: outputPrefix,
        EMBEDDINGS_BASE_URL: props.baseUrl,
        EMBEDDINGS_MODEL: props.model,
        EMBED_FORMAT: props.format ?? 'parquet',
        REINDEX_CONCURRENCY: String(concurrency),
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'embed-batch',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(props.schedule),
      description: 'embed-batch: enqueue inputs whose output is not current',
      target: new InvokeUnqualified(this.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        // A run that could not start within the hour is dropped into the dead-letter queue; the next one comes.
        maxEventAge: Duration.hours(1),
      }),
    });

    this.deadLetterQueueNotEmpty = alarmAbove(
      this,
      'DeadLetterQueueNotEmpty',
      this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      {
        description:
          'embed-batch: a scheduled reindex run was not delivered or failed every attempt; see the reindex function logs',
        topic: props.alarmTopic,
      },
    );

    this.acknowledgeFindings(bucket, outputPrefix);
  }

  /** The cdk-nag findings this design accepts, each with its reason, on the role they are about. */
  private acknowledgeFindings(bucket: s3.IBucket, outputPrefix: string): void {
    // cdk-nag names a bucket of this stack by its logical ID; an imported bucket's findings are the importer's to judge.
    const cfnBucket = bucket.node.defaultChild;
    if (!CfnResource.isCfnResource(cfnBucket)) return;
    const bucketArn = `<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>`;
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketArn}/${outputPrefix}*]`,
      reason: `s3:GetObject only, on objects under the output prefix ${outputPrefix}, to read each output folder's manifest.json: folders are named after inputs, not known at deploy time.`,
    });
  }
}

/**
 * `LambdaInvoke` granting `lambda:InvokeFunction` on the function's
 * unqualified ARN only: the schedule invokes nothing else, and the stock
 * `grantInvoke` adds every version and alias (`<arn>:*`) too.
 */
class InvokeUnqualified extends targets.LambdaInvoke {
  readonly #function: lambda.IFunction;

  constructor(fn: lambda.IFunction, props: targets.ScheduleTargetBaseProps) {
    super(fn, props);
    this.#function = fn;
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.#function.functionArn],
      }),
    );
  }
}
