import path from 'node:path';
import { ArnFormat, Aws, CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, type IConstruct } from 'constructs';
import { alarmAbove } from './alarmAbove.ts';
import { HANDLER_ENTRY, handlerBundling, PROJECT_ROOT } from './bundling.ts';
import { integerProp, keyPrefixProps, StackConfigError } from './errors.ts';
import { functionRoleAndLogs } from './functionRoleAndLogs.ts';
import type { RateBudgetTable } from './RateBudgetTable.ts';

/** Defaults of the large-file context keys; `cdk.json` repeats them so they are visible. */
export const LARGE_FILE_DEFAULTS = {
  /** Objects over this many bytes take the distributed path. */
  largeFileBytes: 32 * 1024 * 1024,
  /**
   * Shard workers one execution runs at once (Distributed Map `MaxConcurrency`).
   * Enough to keep IONOS's 5 requests/s busy at up to 3 s per request
   * (4 workers x 4 requests in flight / 3 s); more only adds idle Lambda time.
   */
  largeFileConcurrency: 4,
} as const;

/** The large-file settings, read from CDK context like the stack's others. */
export interface LargeFileConfig {
  /** `largeFileBytes`: `LARGE_FILE_BYTES` of the job function. @default 32 MiB */
  readonly largeFileBytes: number;
  /**
   * `largeFileConcurrency`: the Distributed Map's `MaxConcurrency`. Workers
   * draw on the shared rate budget; the planner sizes shards for
   * `rateBudgetRps / largeFileConcurrency` requests per second each.
   * @default 4
   */
  readonly largeFileConcurrency: number;
}

/**
 * Reads `largeFileBytes` and `largeFileConcurrency` from the context of
 * `scope` (numbers or numeric strings, as `-c key=value` gives them).
 *
 * @throws StackConfigError naming the key.
 */
export function readLargeFileConfig(scope: IConstruct): LargeFileConfig {
  const read = (key: keyof LargeFileConfig, min: number, max: number): number => {
    const raw: unknown = scope.node.tryGetContext(key);
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
      return LARGE_FILE_DEFAULTS[key];
    }
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new StackConfigError(
        key,
        `Expected \`${key}\` to be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return value;
  };
  return {
    largeFileBytes: read('largeFileBytes', 1, Number.MAX_SAFE_INTEGER),
    // Distributed Map child executions: at most 10 000 at once.
    largeFileConcurrency: read('largeFileConcurrency', 1, 10_000),
  };
}

/** Props of `LargeFileStateMachine`. */
export interface LargeFileStateMachineProps {
  /** The bucket holding inputs and outputs. */
  readonly bucket: s3.IBucket;
  /** Key prefix of inputs; ends in `/`. */
  readonly inputPrefix: string;
  /** Key prefix of output folders (and each run's `_shards/` scratch); ends in `/`. */
  readonly outputPrefix: string;
  /** The endpoint's API token; only the shard worker may read it. */
  readonly apiKeySecret: secretsmanager.ISecret;
  /** `EMBEDDINGS_BASE_URL`. */
  readonly baseUrl: string;
  /** `EMBEDDINGS_MODEL`. */
  readonly model: string;
  /** The rate budget the shard workers draw on, with the job function and everyone else. */
  readonly rateBudget: RateBudgetTable;
  /** Shard workers at once (Distributed Map `MaxConcurrency`). @default 4 */
  readonly maxConcurrency?: number;
  /** `SHARD_BYTES`: the planner's target shard size. @default 64 MiB */
  readonly shardBytes?: number;
  /** `EMBED_CONCURRENCY` of a worker. @default 4 */
  readonly requestConcurrency?: number;
  /** Memory of each function in MB. @default 1769 (one full vCPU) */
  readonly memorySize?: number;
  /**
   * Source file exporting `plan`, `shard` and `finalise`, absolute or relative
   * to the project root: the job's entry, so all functions share one asset.
   * @default 'lambda/handler.ts'
   */
  readonly entry?: string;
  /** How long the functions' and the state machine's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** `POWERTOOLS_SERVICE_NAME`. @default 'embed-batch' */
  readonly serviceName?: string;
  /** `POWERTOOLS_METRICS_NAMESPACE`. @default 'EmbedBatch' */
  readonly metricsNamespace?: string;
  /** Notified when an execution fails. @default - an alarm without actions */
  readonly alarmTopic?: sns.ITopic;
}

/** The S3 access one function of the distributed path needs. */
interface Access {
  readonly readInputs: boolean;
  readonly deleteOutputs: boolean;
  readonly readSecret: boolean;
}

/**
 * The distributed path for files too large for one invocation: a Step
 * Functions state machine
 *
 *   Plan (Lambda) -> Shards (Distributed Map over the plan's shard list in S3,
 *   one Lambda worker per byte-range shard) -> Finalise (Lambda)
 *
 * - the planner cuts the object at record boundaries and writes
 *   `<output folder>/_shards/shards.json`, which the map's ItemReader reads;
 * - at most `maxConcurrency` workers run at once, all drawing on the shared
 *   rate budget (with the job function's invocations), so together they stay
 *   within the endpoint's rate; the planner sizes shards for a worker's fair
 *   share of it, `rps / maxConcurrency`;
 * - no failed shard is tolerated (the finaliser would have nothing complete
 *   to merge); Lambda service errors and throttles are retried with backoff;
 * - the finaliser writes `manifest.json` last and is idempotent;
 * - logging at level ALL (execution data included: only URIs and counts,
 *   never the token) to a KMS-encrypted log group; X-Ray tracing on.
 *
 * Each function has its own role with only the S3 actions it uses.
 */
export class LargeFileStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly planner: nodejs.NodejsFunction;
  public readonly worker: nodejs.NodejsFunction;
  public readonly finaliser: nodejs.NodejsFunction;
  /** The state machine's log group, encrypted with `logKey`. */
  public readonly logGroup: logs.LogGroup;
  public readonly logKey: kms.Key;
  /** Fires when an execution fails, times out or is aborted. */
  public readonly executionsFailed: cloudwatch.Alarm;
  /** A worker's fair share of the budget, requests per second: the planner's `EMBED_RPS`, which sizes shards. */
  public readonly rpsPerWorker: number;
  readonly #props: LargeFileStateMachineProps;

  constructor(scope: Construct, id: string, props: LargeFileStateMachineProps) {
    super(scope, id);
    this.#props = props;
    const maxConcurrency = integerProp(
      props.maxConcurrency ?? LARGE_FILE_DEFAULTS.largeFileConcurrency,
      'maxConcurrency',
      1,
      10_000,
    );
    const memorySize = integerProp(props.memorySize ?? 1769, 'memorySize', 128, 10_240);
    const requestConcurrency = integerProp(props.requestConcurrency ?? 4, 'requestConcurrency', 1, 64);
    const shardBytes = integerProp(props.shardBytes ?? 64 * 1024 * 1024, 'shardBytes', 1);
    keyPrefixProps(props);
    const budgetRps = props.rateBudget.rps;
    // Only sizes shards; the shared budget, not this share, paces the workers.
    this.rpsPerWorker = Math.max(0.001, Math.floor((budgetRps / maxConcurrency) * 1000 + 1e-9) / 1000);

    const environment: Record<string, string> = {
      EMBEDDINGS_BASE_URL: props.baseUrl,
      EMBEDDINGS_MODEL: props.model,
      EMBEDDINGS_API_KEY_SECRET_ARN: props.apiKeySecret.secretArn,
      INPUT_PREFIX: props.inputPrefix,
      OUTPUT_PREFIX: props.outputPrefix,
      // A worker's fair share; the planner sizes shards (SHARD_RECORDS) from it: ten minutes of work each.
      // The worker's own EMBED_RPS is the whole shared budget (RateBudgetTable.drawFrom).
      EMBED_RPS: String(this.rpsPerWorker),
      EMBED_CONCURRENCY: String(requestConcurrency),
      SHARD_BYTES: String(shardBytes),
      POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'embed-batch',
      POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'EmbedBatch',
      NODE_OPTIONS: '--enable-source-maps',
    };
    const functionProps = {
      memorySize,
      environment,
      entry: path.resolve(PROJECT_ROOT, props.entry ?? HANDLER_ENTRY),
    };
    this.planner = this.#function('Plan', 'plan', 'plans byte-range shards of a large input', functionProps, {
      readInputs: true,
      deleteOutputs: true,
      readSecret: false,
    });
    this.worker = this.#function(
      'Shard',
      'shard',
      'embeds one byte-range shard of a large input',
      functionProps,
      {
        readInputs: true,
        deleteOutputs: false,
        readSecret: true,
      },
    );
    props.rateBudget.drawFrom(this.worker);
    this.finaliser = this.#function(
      'Finalise',
      'finalise',
      'merges the shards of a large input into one output',
      functionProps,
      {
        readInputs: false,
        deleteOutputs: true,
        readSecret: false,
      },
    );

    const plan = new tasks.LambdaInvoke(this, 'PlanShards', {
      stateName: 'Plan',
      lambdaFunction: this.planner,
      payloadResponseOnly: true,
      resultPath: '$.plan',
    });
    const shard = new tasks.LambdaInvoke(this, 'EmbedShard', {
      stateName: 'EmbedShard',
      lambdaFunction: this.worker,
      payloadResponseOnly: true,
      // The item stays the state's input, so a worker that ran short of time is invoked again with it.
      resultPath: '$.result',
    });
    // A worker short of time checkpoints and answers `continue`: run it again from there,
    // so a shard never fails the Map for lack of time and overlapping runs only get slower.
    const shardFinished = new sfn.Choice(this, 'ShardFinished', { stateName: 'ShardFinished' })
      .when(sfn.Condition.stringEquals('$.result.status', 'continue'), shard)
      .otherwise(new sfn.Succeed(this, 'ShardDone', { stateName: 'ShardDone' }));
    const shards = new ZeroToleranceDistributedMap(this, 'Shards', {
      stateName: 'Shards',
      itemReader: new sfn.S3JsonItemReader({
        // Named by the planner at run time; the role may read the output prefix only (see below).
        bucketNamePath: sfn.JsonPath.stringAt('$.plan.itemReader.bucket'),
        key: sfn.JsonPath.stringAt('$.plan.itemReader.key'),
      }),
      maxConcurrency,
      // Workers' results live in S3 (`_shards/`); the finaliser needs the plan summary only.
      resultPath: sfn.JsonPath.DISCARD,
    });
    shards.itemProcessor(shard.next(shardFinished));
    const finalise = new tasks.LambdaInvoke(this, 'FinaliseOutput', {
      stateName: 'Finalise',
      lambdaFunction: this.finaliser,
      inputPath: '$.plan',
      payloadResponseOnly: true,
    });
    for (const task of [plan, shard, finalise]) {
      // LambdaInvoke already retries Lambda's service exceptions; a throttled invoke (many shards) waits too.
      task.addRetry({
        errors: ['Lambda.TooManyRequestsException'],
        interval: Duration.seconds(2),
        maxAttempts: 8,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
    }

    this.logKey = new kms.Key(this, 'LogKey', {
      description: 'embed-batch: encrypts the large-file state machine log group',
      enableKeyRotation: true,
    });
    // CloudWatch Logs encrypts with the key only for log groups of this account and region.
    this.logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: this.logKey,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'embed-batch: embeds a large input as byte-range shards in parallel, then one manifest',
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(shards).next(finalise)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      // Bounds a stuck run; at IONOS's 5 requests/s of 128 inputs a week is about 390 million rows.
      timeout: Duration.days(7),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The ItemReader's GetObject, on the output prefix only (shards.json lives in `<output folder>/_shards/`).
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadShardLists',
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${props.outputPrefix}*`)],
      }),
    );

    this.executionsFailed = alarmAbove(
      this,
      'ExecutionsFailed',
      new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: this.stateMachine.metricFailed({ statistic: cloudwatch.Stats.SUM }),
          timedOut: this.stateMachine.metricTimedOut({ statistic: cloudwatch.Stats.SUM }),
          aborted: this.stateMachine.metricAborted({ statistic: cloudwatch.Stats.SUM }),
        },
        period: Duration.minutes(5),
      }),
      {
        description:
          'embed-batch: a large-file run failed; see the state machine execution, then redrive it (aws stepfunctions redrive-execution)',
        topic: props.alarmTopic,
      },
    );

    this.#acknowledgeStateMachineFindings();
  }

  /**
   * Lets the job function hand large objects to this state machine:
   * `STATE_MACHINE_ARN` and `LARGE_FILE_BYTES` in its environment, and
   * `states:StartExecution` on this state machine only, and
   * `states:DescribeExecution` on its executions.
   */
  /** `arn:...:execution:<state machine name>:*`: every execution of this state machine. */
  get executionArns(): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  routeFrom(job: lambda.Function, largeFileBytes: number): void {
    integerProp(largeFileBytes, 'largeFileBytes', 1);
    job.addEnvironment('STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
    job.addEnvironment('LARGE_FILE_BYTES', String(largeFileBytes));
    job.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartLargeFileRuns',
        actions: ['states:StartExecution'],
        resources: [this.stateMachine.stateMachineArn],
      }),
    );
    // An existing execution of a version is looked up: running (a duplicate) or ended (start the next attempt).
    job.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeLargeFileRuns',
        actions: ['states:DescribeExecution'],
        resources: [this.executionArns],
      }),
    );
    const machine = this.stateMachine.node.defaultChild;
    if (job.role !== undefined && CfnResource.isCfnResource(machine)) {
      const name = `<${Stack.of(this).getLogicalId(machine)}.Name>`;
      Validations.of(job.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}:*]`,
        reason:
          "states:DescribeExecution only, on this state machine's executions: a run's name is made at run time from the object version and an attempt number.",
      });
    }
  }

  #function(
    id: string,
    handler: 'plan' | 'shard' | 'finalise',
    what: string,
    shared: { memorySize: number; environment: Record<string, string>; entry: string },
    access: Access,
  ): nodejs.NodejsFunction {
    const { bucket, inputPrefix, outputPrefix } = this.#props;
    const scope = new Construct(this, id);
    const { logGroup, role } = functionRoleAndLogs(
      scope,
      `embed-batch large files: ${what}`,
      this.#props.logRetention,
    );
    if (access.readInputs) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadInputs',
          actions: ['s3:GetObject'],
          resources: [bucket.arnForObjects(`${inputPrefix}*`)],
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOutputs',
        actions: [
          's3:GetObject',
          's3:PutObject',
          's3:AbortMultipartUpload',
          ...(access.deleteOutputs ? ['s3:DeleteObject'] : []),
        ],
        resources: [bucket.arnForObjects(`${outputPrefix}*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListJobPrefixes',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        // Listing is what makes S3 answer 404 (not 403) for a missing key; the planner and finaliser list `_shards/`.
        conditions: {
          StringLike: {
            's3:prefix': access.readInputs ? [`${inputPrefix}*`, `${outputPrefix}*`] : [`${outputPrefix}*`],
          },
        },
      }),
    );
    if (access.readSecret) this.#props.apiKeySecret.grantRead(role);

    const fn = new nodejs.NodejsFunction(scope, 'Function', {
      description: `embed-batch: ${what}`,
      entry: shared.entry,
      handler,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: shared.memorySize,
      // Lambda's maximum: a shard is sized for about ten minutes of requests, the planner streams the whole object.
      timeout: Duration.minutes(15),
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      bundling: handlerBundling,
      environment: shared.environment,
    });
    this.#acknowledgeRoleFindings(role, access);
    return fn;
  }

  /** The cdk-nag findings of a function role this design accepts, each with its reason. */
  #acknowledgeRoleFindings(role: iam.Role, access: Access): void {
    const { bucket, inputPrefix, outputPrefix } = this.#props;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (tracing: ACTIVE) adds xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level permissions.',
    });
    const cfnBucket = bucket.node.defaultChild;
    if (!CfnResource.isCfnResource(cfnBucket)) return;
    const bucketArn = `<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>`;
    if (access.readInputs) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${inputPrefix}*]`,
        reason: `s3:GetObject only, on objects under the input prefix ${inputPrefix}: the large input is named at run time.`,
      });
    }
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketArn}/${outputPrefix}*]`,
      reason: `Explicit object actions (no action wildcards) under the output prefix ${outputPrefix}, where each run writes one folder per input (parts, _shards/ scratch), named after it at run time.`,
    });
  }

  /** The cdk-nag findings of the state machine's role this design accepts. */
  #acknowledgeStateMachineFindings(): void {
    const stack = Stack.of(this);
    const logicalId = (construct: IConstruct): string => {
      const resource = construct.node.defaultChild;
      if (!CfnResource.isCfnResource(resource))
        throw new Error(`${construct.node.path} has no CloudFormation resource`);
      return stack.getLogicalId(resource);
    };
    const role = this.stateMachine.role;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Logging to CloudWatch Logs (logs:CreateLogDelivery and related vended-log actions) and X-Ray tracing (xray:PutTraceSegments and related) have no resource-level permissions.',
    });
    for (const fn of [this.planner, this.worker, this.finaliser]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId(fn)}.Arn>:*]`,
        reason:
          "CDK's LambdaInvoke task grants lambda:InvokeFunction on the function and its versions (<arn>:*); the state machine invokes only these three functions of this construct.",
      });
    }
    // The Distributed Map runs each shard as a child execution of this state machine, named at run time.
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId(this.stateMachine)}"}]}]}`;
    const reason =
      "The Distributed Map's own policy (added by CDK): states:DescribeExecution and states:StopExecution on this state machine's executions and their map-run child executions, whose names are made at run time.";
    Validations.of(this.stateMachine).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::${executions}:*]`, reason },
      { id: `AwsSolutions-IAM5[Resource::${executions}/*:*]`, reason },
    );
    const cfnBucket = this.#props.bucket.node.defaultChild;
    if (CfnResource.isCfnResource(cfnBucket)) {
      const bucketArn = `<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>`;
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArn}/${this.#props.outputPrefix}*]`,
        reason: `s3:GetObject only, for the Distributed Map's ItemReader: each run's shard list is <output folder>/_shards/shards.json under ${this.#props.outputPrefix}, named at run time.`,
      });
    }
  }
}

/**
 * A Distributed Map that fails as soon as one item fails, saying so in its
 * definition: `ToleratedFailurePercentage: 0` (CDK leaves a 0 out, which
 * means the same but reads as unset). Every shard's output is needed: the
 * finaliser has nothing complete to merge otherwise.
 */
class ZeroToleranceDistributedMap extends sfn.DistributedMap {
  override toStateJson(queryLanguage?: sfn.QueryLanguage): object {
    return { ...super.toStateJson(queryLanguage), ToleratedFailurePercentage: 0 };
  }
}
