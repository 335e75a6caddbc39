import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AlarmTopic } from './AlarmTopic.ts';
import type { EmbedBatchConfig } from './config.ts';
import { DataBucket } from './DataBucket.ts';
import { EmbedBatchFunction } from './EmbedBatchFunction.ts';
import { JobAlarms } from './JobAlarms.ts';
import { JobQueue } from './JobQueue.ts';
import { LargeFileStateMachine, readLargeFileConfig } from './LargeFileStateMachine.ts';
import { RateBudgetTable } from './RateBudgetTable.ts';
import { ReindexSchedule } from './ReindexSchedule.ts';

/**
 * Key suffixes that start a job, one S3 notification each (a filter has one
 * suffix). S3 compares them case-sensitively: `data.CSV` starts nothing.
 */
export const INPUT_SUFFIXES = [
  '.csv',
  '.tsv',
  '.jsonl',
  '.ndjson',
  '.csv.gz',
  '.tsv.gz',
  '.jsonl.gz',
  '.ndjson.gz',
] as const;

/** Props of `EmbedBatchStack`. */
export interface EmbedBatchStackProps extends StackProps {
  /** The validated deployment settings (`readConfig(app)`). */
  readonly config: EmbedBatchConfig;
  /**
   * The handler's source file, absolute or relative to the project root.
   * @default 'lambda/handler.ts'
   */
  readonly entry?: string;
}

/**
 * embed-batch on AWS: uploads under the input prefix raise S3 notifications
 * into a queue (with a dead-letter queue); the function consumes it with a
 * capped concurrency, so the account's request rate to the endpoint stays
 * under its budget, and writes output folders under the output prefix, which
 * never triggers it. The API token lives in Secrets Manager.
 */
export class EmbedBatchStack extends Stack {
  public readonly data: DataBucket;
  public readonly jobQueue: JobQueue;
  /** The API token secret (created, or imported by `secretName`). */
  public readonly apiKeySecret: secretsmanager.ISecret;
  public readonly job: EmbedBatchFunction;
  public readonly alarms: JobAlarms;
  /** Where alarms notify, when `alarmEmail` or `alarmTopicArn` is set. */
  public readonly alarmTopic?: sns.ITopic;
  /** The scheduled reindex, when `reindexSchedule` is not `off`. */
  public readonly reindex?: ReindexSchedule;
  /** The Distributed Map path for inputs over `largeFileBytes`. */
  public readonly largeFiles: LargeFileStateMachine;
  /** The rate budget every function that calls the endpoint draws on. */
  public readonly rateBudget: RateBudgetTable;

  constructor(scope: Construct, id: string, props: EmbedBatchStackProps) {
    super(scope, id, {
      description: 'embed-batch: CSV/JSONL uploads to S3 -> embeddings endpoint -> Parquet/Arrow vectors',
      ...props,
    });
    const { config } = props;

    this.data = new DataBucket(this, 'Data');
    // Lambda's maximum. Files that need longer go to the Distributed Map path (`largeFiles`).
    const timeout = Duration.minutes(15);
    this.jobQueue = new JobQueue(this, 'Jobs', { consumerTimeout: timeout });
    this.apiKeySecret = this.createOrImportSecret(config.secretName);
    this.rateBudget = new RateBudgetTable(this, 'RateBudget', {
      rps: config.rateBudgetRps,
      burst: config.rateBudgetBurst,
      tpm: config.rateBudgetTpm,
    });

    this.job = new EmbedBatchFunction(this, 'Embed', {
      bucket: this.data.bucket,
      inputPrefix: config.inputPrefix,
      outputPrefix: config.outputPrefix,
      queue: this.jobQueue.queue,
      apiKeySecret: this.apiKeySecret,
      baseUrl: config.baseUrl,
      model: config.model,
      rateBudget: this.rateBudget,
      requestConcurrency: config.requestConcurrency,
      maxConcurrency: config.maxConcurrency,
      memorySize: config.memorySize,
      timeout,
      entry: props.entry,
    });

    const destination = new s3n.SqsDestination(this.jobQueue.queue);
    for (const suffix of INPUT_SUFFIXES) {
      this.data.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, {
        prefix: config.inputPrefix,
        suffix,
      });
    }
    this.acknowledgeNotificationsHandler();

    if (config.alarmEmail !== undefined) {
      this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', { email: config.alarmEmail }).topic;
    } else if (config.alarmTopicArn !== undefined) {
      this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
    }
    this.alarms = new JobAlarms(this, 'Alarms', {
      function: this.job.function,
      queue: this.jobQueue.queue,
      deadLetterQueue: this.jobQueue.deadLetterQueue,
      topic: this.alarmTopic,
    });

    const largeFileConfig = readLargeFileConfig(this);
    this.largeFiles = new LargeFileStateMachine(this, 'LargeFiles', {
      bucket: this.data.bucket,
      inputPrefix: config.inputPrefix,
      outputPrefix: config.outputPrefix,
      apiKeySecret: this.apiKeySecret,
      baseUrl: config.baseUrl,
      model: config.model,
      rateBudget: this.rateBudget,
      maxConcurrency: largeFileConfig.largeFileConcurrency,
      requestConcurrency: config.requestConcurrency,
      memorySize: config.memorySize,
      entry: props.entry,
      alarmTopic: this.alarmTopic,
    });
    this.largeFiles.routeFrom(this.job.function, largeFileConfig.largeFileBytes);

    if (config.reindexSchedule !== undefined) {
      this.reindex = new ReindexSchedule(this, 'Reindex', {
        schedule: config.reindexSchedule,
        bucket: this.data.bucket,
        inputPrefix: config.inputPrefix,
        outputPrefix: config.outputPrefix,
        queue: this.jobQueue.queue,
        baseUrl: config.baseUrl,
        model: config.model,
        entry: props.entry,
        alarmTopic: this.alarmTopic,
      });
      new CfnOutput(this, 'ReindexFunctionName', {
        description: `Enqueues stale inputs on ${config.reindexSchedule}; invoke it to reindex now`,
        value: this.reindex.function.functionName,
      });
    }

    new CfnOutput(this, 'BucketName', {
      description: 'The data bucket',
      value: this.data.bucket.bucketName,
    });
    new CfnOutput(this, 'InputLocation', {
      description: 'Upload .csv/.tsv/.jsonl/.ndjson (or .gz) files here',
      value: `s3://${this.data.bucket.bucketName}/${config.inputPrefix}`,
    });
    new CfnOutput(this, 'OutputLocation', {
      description: 'Output folders appear here',
      value: `s3://${this.data.bucket.bucketName}/${config.outputPrefix}`,
    });
    new CfnOutput(this, 'QueueUrl', { description: 'The job queue', value: this.jobQueue.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Notifications of jobs that failed every attempt',
      value: this.jobQueue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'ApiKeySecretArn', {
      description:
        'Set the API token: aws secretsmanager put-secret-value --secret-id <this> --secret-string ...',
      value: this.apiKeySecret.secretArn,
    });
    new CfnOutput(this, 'ApiKeySecretName', {
      description: 'The API token secret',
      value: this.apiKeySecret.secretName,
    });
    new CfnOutput(this, 'LargeFileStateMachineArn', {
      description: 'Runs inputs over largeFileBytes as byte-range shards (redrive a failed one to resume it)',
      value: this.largeFiles.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'FunctionName', {
      description: 'The job function',
      value: this.job.function.functionName,
    });
    if (this.alarmTopic !== undefined) {
      new CfnOutput(this, 'AlarmTopicArn', {
        description: 'Alarm notifications',
        value: this.alarmTopic.topicArn,
      });
    }
  }

  /**
   * The template never holds the token: a created secret starts with a random
   * placeholder (calls fail with 401 until the real token is put in).
   */
  private createOrImportSecret(secretName: string | undefined): secretsmanager.ISecret {
    if (secretName !== undefined) {
      return secretsmanager.Secret.fromSecretNameV2(this, 'ApiKeySecret', secretName);
    }
    const secret = new secretsmanager.Secret(this, 'ApiKeySecret', {
      // No fixed name: a deleted stack's secret stays scheduled for deletion under its name, blocking a re-create.
      description:
        'embed-batch: API token of the embeddings endpoint (IONOS AI Model Hub); set it with put-secret-value after deploy',
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is a token issued by the endpoint provider (IONOS), not a credential AWS can rotate; it is rotated by issuing a new token and putting it into this secret.',
    });
    return secret;
  }

  /**
   * `addEventNotification` deploys CDK's own singleton function that calls
   * PutBucketNotificationConfiguration (CloudFormation's native property
   * would create a bucket/queue-policy dependency cycle). Its role is CDK's.
   */
  private acknowledgeNotificationsHandler(): void {
    const handler = this.node.children.find((child) =>
      child.node.id.startsWith('BucketNotificationsHandler'),
    );
    if (handler === undefined) return;
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's own bucket-notifications custom resource handler; CDK creates its role with this managed logging policy and offers no way to replace it.",
    });
  }
}
