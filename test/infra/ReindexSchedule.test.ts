import { type App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ContextReader, parseConfig } from '../../infra/config.ts';
import { PropsError, StackConfigError } from '../../infra/errors.ts';
import { ReindexSchedule, type ReindexScheduleProps } from '../../infra/ReindexSchedule.ts';
import { loadConfig } from '../../lambda/aws/loadConfig.ts';
import { buildEmbedBatch, createApp, synthEmbedBatch } from './synthEmbedBatch.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };
type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const SCHEDULE = 'rate(1 day)';

/** The only resource of `type` matching `props` (fails when there are more or none). */
function only(template: Template, type: string, props?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  expect(found, `resources of type ${type}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** The statements of the policy attached to `roleId`. */
function statementsOf(template: Template, roleId: string): Statement[] {
  const [, policy] = only(template, 'AWS::IAM::Policy', { Roles: [{ Ref: roleId }] });
  return (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement;
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** A context reader over a plain object. */
const contextOf =
  (values: Record<string, unknown>): ContextReader =>
  (key) =>
    values[key];

/**
 * Environment variables as `loadConfig` would see them deployed. Resource
 * references (Ref, GetAtt: bucket, queue, ...) are left out, as no judged
 * setting comes from them; the secret's ARN becomes a placeholder, since
 * whether there is one decides the model `loadConfig` resolves.
 */
function plainEnv(variables: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value === 'string') env[name] = value;
    else if (name === 'EMBEDDINGS_API_KEY_SECRET_ARN') {
      env[name] = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:token-AbCdEf';
    }
  }
  return env;
}

describe('Stack: EmbedBatchStack with a reindex schedule', () => {
  let template: Template;
  let functionId: string;
  let jobFunctionId: string;
  let roleId: string;
  let bucketId: string;
  let queueId: string;
  let deadLetterQueueId: string;

  beforeAll(() => {
    // Prepare
    ({ template } = synthEmbedBatch({ reindexSchedule: SCHEDULE }));
    [functionId] = only(template, 'AWS::Lambda::Function', { Handler: 'index.reindex' });
    [jobFunctionId] = only(template, 'AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
    });
    [roleId] = only(template, 'AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('embed-batch reindex'),
    });
    [bucketId] = only(template, 'AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
    [queueId] = only(template, 'AWS::SQS::Queue', { RedrivePolicy: Match.anyValue() });
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const deadLetterConfig = resources[functionId]?.Properties.DeadLetterConfig as {
      TargetArn: { 'Fn::GetAtt': [string, string] };
    };
    deadLetterQueueId = deadLetterConfig.TargetArn['Fn::GetAtt'][0];
  });

  describe('schedule', () => {
    it('invokes the reindex function on the configured expression', () => {
      template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: SCHEDULE,
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId, 'Arn'] } }),
      });
    });

    it('retries delivery for up to an hour, then drops the run into a dead-letter queue', () => {
      // Assess
      const [, schedule] = only(template, 'AWS::Scheduler::Schedule');
      expect(schedule.Properties.Target).toMatchObject({
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      });
      expect(template.toJSON().Resources[deadLetterQueueId]).toMatchObject({
        Type: 'AWS::SQS::Queue',
        Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: deadLetterQueueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('assumes a role that may only invoke the unqualified function and send to the dead-letter queue', () => {
      // Assess
      const [, schedule] = only(template, 'AWS::Scheduler::Schedule');
      const schedulerRoleId = (schedule.Properties.Target as { RoleArn: { 'Fn::GetAtt': [string, string] } })
        .RoleArn['Fn::GetAtt'][0];
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Principal: { Service: 'scheduler.amazonaws.com' },
              Condition: {
                StringEquals: Match.objectLike({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }),
              },
            }),
          ],
        },
      });
      expect(statementsOf(template, schedulerRoleId)).toEqual([
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: { 'Fn::GetAtt': [functionId, 'Arn'] },
        },
        {
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] },
        },
      ]);
    });

    it('accepts a cron expression', () => {
      const { template: cron } = synthEmbedBatch({ reindexSchedule: 'cron(0 3 * * ? *)' });
      cron.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 3 * * ? *)' });
    });

    it('is not there with the default "off", nor is its function', () => {
      // Act
      const { template: off } = synthEmbedBatch();

      // Assess
      off.resourceCountIs('AWS::Scheduler::Schedule', 0);
      expect(
        off.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.reindex' } }),
      ).toEqual({});
      expect(Object.keys(off.toJSON().Outputs)).not.toContain('ReindexFunctionName');
    });
  });

  describe('function', () => {
    it('runs handler reindex of the job bundle for at most 5 minutes', () => {
      // Assess
      const resources = template.toJSON().Resources as Record<string, Resource>;
      expect(resources[functionId]?.Properties).toMatchObject({
        Handler: 'index.reindex',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 300,
        MemorySize: 512,
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] } },
      });
      // The same asset as the job: one bundle, two entry points.
      expect(resources[functionId]?.Properties.Code).toEqual(resources[jobFunctionId]?.Properties.Code);
    });

    it('gets the queue, bucket and job settings from its environment, and no secret', () => {
      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: 'index.reindex',
        Environment: {
          Variables: {
            BUCKET: { Ref: bucketId },
            QUEUE_URL: { Ref: queueId },
            INPUT_PREFIX: 'input/',
            OUTPUT_PREFIX: 'output/',
            EMBEDDINGS_BASE_URL: 'https://openai.inference.de-txl.ionos.com/v1',
            EMBEDDINGS_MODEL: 'BAAI/bge-m3',
            EMBED_FORMAT: 'parquet',
            REINDEX_CONCURRENCY: '8',
            POWERTOOLS_SERVICE_NAME: 'embed-batch',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      });
      const variables = template.toJSON().Resources[functionId].Properties.Environment.Variables;
      expect(JSON.stringify(variables)).not.toMatch(/secret|API_KEY|TOKEN/i);
    });

    it.each([
      ['the defaults', {}],
      [
        'another model, endpoint and prefixes',
        {
          model: 'BAAI/bge-large-en-v1.5',
          baseUrl: 'https://tei.example.com/v1',
          inputPrefix: 'in/',
          outputPrefix: 'vectors/',
        },
      ],
    ])('judges outputs with the job’s own settings, with %s', (_name, overrides) => {
      // Prepare
      const { template: variant } = synthEmbedBatch({ reindexSchedule: SCHEDULE, ...overrides });
      const envOf = (handler: string) =>
        plainEnv(
          (Object.values(
            variant.findResources('AWS::Lambda::Function', {
              Properties: { Handler: handler, Runtime: 'nodejs24.x' },
            }),
          )[0]?.Properties.Environment.Variables ?? {}) as Record<string, unknown>,
        );

      // Act: both environments through the job's own loadConfig.
      const job = loadConfig(envOf('index.handler'));
      const reindex = loadConfig(envOf('index.reindex'));

      // Assess: everything `staleReason` and `outputDirFor` read agrees.
      const judged = ({ model, format, dimensions, inputPrefix, outputPrefix, baseUrl }: typeof job) => ({
        model,
        format,
        dimensions,
        inputPrefix,
        outputPrefix,
        baseUrl,
      });
      expect(judged(reindex)).toEqual(judged(job));
    });

    it('logs to its own log group, kept for a month', () => {
      // Assess
      const resources = template.toJSON().Resources as Record<string, Resource>;
      const logGroupOf = (id: string) =>
        (resources[id]?.Properties.LoggingConfig as { LogGroup: { Ref: string } } | undefined)?.LogGroup.Ref;
      expect(resources[logGroupOf(functionId) ?? '']).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
      expect(logGroupOf(functionId)).not.toBe(logGroupOf(jobFunctionId));
    });

    it('alarms when a run lands in the dead-letter queue, notifying the alarm topic', () => {
      // Act
      const { template: withEmail } = synthEmbedBatch({
        reindexSchedule: SCHEDULE,
        alarmEmail: 'ops@example.com',
      });

      // Assess
      const [topicId] = only(withEmail, 'AWS::SNS::Topic');
      withEmail.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        AlarmDescription: Match.stringLikeRegexp('reindex'),
        Threshold: 0,
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
      });
    });
  });

  describe('permissions', () => {
    it('has no wildcard actions, no managed policies and no unscoped resources', () => {
      // Assess
      const statements = statementsOf(template, roleId);
      for (const action of statements.flatMap(actionsOf)) {
        expect(action, 'an action with a wildcard').not.toMatch(/\*/);
      }
      expect(statements.filter((statement) => statement.Resource === '*')).toEqual([]);
      template.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp('embed-batch reindex'),
        ManagedPolicyArns: Match.absent(),
      });
    });

    it('lists the job prefixes, reads objects under output/ only, and sends to the job queue', () => {
      // Assess
      const statements = statementsOf(template, roleId);
      const byAction = (action: string) =>
        statements.filter((statement) => actionsOf(statement).includes(action));
      expect(byAction('s3:ListBucket')).toEqual([
        expect.objectContaining({
          Action: 's3:ListBucket',
          Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
          Condition: { StringLike: { 's3:prefix': ['input/*', 'output/*'] } },
        }),
      ]);
      expect(byAction('s3:GetObject')).toEqual([
        expect.objectContaining({
          Action: 's3:GetObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/output/*']] },
        }),
      ]);
      expect(byAction('sqs:SendMessage').map((statement) => statement.Resource)).toEqual(
        expect.arrayContaining([
          { 'Fn::GetAtt': [queueId, 'Arn'] },
          { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] },
        ]),
      );
      expect(byAction('sqs:SendMessage')).toHaveLength(2);
      // Everything it may do: nothing else under S3, SQS, KMS or Secrets Manager.
      expect([...new Set(statements.flatMap(actionsOf))].sort()).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        'sqs:SendMessage',
      ]);
    });

    it('may use the key of a KMS-encrypted job queue to send to it', () => {
      // Prepare
      const stack = new Stack(createApp(), 'Test');
      const queue = new sqs.Queue(stack, 'Queue', { encryption: sqs.QueueEncryption.KMS });

      // Act
      new ReindexSchedule(stack, 'Reindex', { ...constructProps(stack), queue });

      // Assess
      const kmsTemplate = Template.fromStack(stack);
      const [kmsRoleId] = only(kmsTemplate, 'AWS::IAM::Role', {
        Description: Match.stringLikeRegexp('embed-batch reindex'),
      });
      const statements = statementsOf(kmsTemplate, kmsRoleId);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Sid: 'EncryptForQueue',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^QueueKey/), 'Arn'] },
        }),
      );
    });
  });
});

/** Valid props of `ReindexSchedule` in `stack`. */
function constructProps(stack: Stack): ReindexScheduleProps {
  return {
    schedule: SCHEDULE,
    bucket: new s3.Bucket(stack, 'Bucket'),
    inputPrefix: 'input/',
    outputPrefix: 'output/',
    queue: new sqs.Queue(stack, 'JobQueue'),
    baseUrl: 'https://example.com/v1',
    model: 'BAAI/bge-m3',
  };
}

describe('Class: ReindexSchedule', () => {
  it.each<[string, Partial<ReindexScheduleProps>, RegExp]>([
    ['schedule', { schedule: 'daily' }, /`schedule` to be a rate\(\.\.\.\) or cron\(\.\.\.\) expression/],
    ['timeout (seconds)', { timeout: Duration.minutes(20) }, /from 1 to 900, got 1200/],
    ['concurrency', { concurrency: 0 }, /`concurrency` to be an integer from 1 to 64/],
    ['outputPrefix', { outputPrefix: 'output' }, /`outputPrefix` to be a key prefix ending in \//],
  ])('rejects a bad `%s` before creating anything', (prop, change, message) => {
    // Prepare
    const stack = new Stack(createApp(), 'Test');
    const props = constructProps(stack);

    // Act
    let error: unknown;
    try {
      new ReindexSchedule(stack, 'Reindex', { ...props, ...change });
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(PropsError);
    expect((error as PropsError).prop).toBe(prop);
    expect((error as PropsError).message).toMatch(message);
    expect(stack.node.tryFindChild('Reindex')?.node.children ?? []).toEqual([]);
  });
});

describe('Function: parseConfig (reindexSchedule)', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['off', undefined],
    [' OFF ', undefined],
    ['rate(1 day)', 'rate(1 day)'],
    ['rate(12 hours)', 'rate(12 hours)'],
    ['rate(30 minutes)', 'rate(30 minutes)'],
    ['cron(0 3 * * ? *)', 'cron(0 3 * * ? *)'],
    ['cron(15  2 ? * MON-FRI *)', 'cron(15 2 ? * MON-FRI *)'],
  ])('reads %j as %j', (raw, expected) => {
    expect(parseConfig(contextOf({ reindexSchedule: raw })).reindexSchedule).toBe(expected);
  });

  it.each([
    ['daily', /`reindexSchedule` to be "off", rate\(<n> minute\[s\]\|hour\[s\]\|day\[s\]\) or cron\(/],
    ['rate(1 days)', /rate\(1 day\): AWS wants the unit singular for 1 and plural otherwise/],
    ['rate(2 day)', /rate\(2 days\)/],
    ['rate(0 minutes)', /`reindexSchedule` to be "off"/],
    ['rate(1 week)', /`reindexSchedule` to be "off"/],
    ['cron(0 3 * * *)', /`reindexSchedule` to be "off"/],
    ['cron(0 3 * * * *)', /\? in exactly one of day-of-month and day-of-week/],
    ['at(2030-01-01T00:00:00)', /`reindexSchedule` to be "off"/],
  ])('rejects %j with a clear message', (raw, message) => {
    // Act
    let error: unknown;
    try {
      parseConfig(contextOf({ reindexSchedule: raw }));
    } catch (caught) {
      error = caught;
    }

    // Assess
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).key).toBe('reindexSchedule');
    expect((error as StackConfigError).message).toMatch(message);
  });
});

/** Every acknowledgment recorded in the app's construct tree, as `{ path, id, reason }`. */
function acknowledgments(app: App): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

describe('AwsSolutionsChecks (cdk-nag) with a reindex schedule', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The findings of the stack with `overrides`, acknowledgments dropped. */
  function rawFindings(overrides: Record<string, unknown>): string[] {
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const { app } = buildEmbedBatch(overrides);
    vi.restoreAllMocks();
    return new AwsSolutionsChecks(app)
      .validateScope(app)
      .violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} @ ${resource.constructPath}`),
      )
      .sort();
  }

  it('adds one finding, acknowledged with a reason, and synthesizes clean', () => {
    // Act
    const added = rawFindings({ reindexSchedule: SCHEDULE }).filter(
      (finding) => !rawFindings({}).includes(finding),
    );
    const { app } = buildEmbedBatch({ reindexSchedule: SCHEDULE });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
    const report = new AwsSolutionsChecks(app).validateScope(app);

    // Assess
    expect(added).toEqual([
      'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*] @ EmbedBatch/Reindex/Role/DefaultPolicy/Resource',
    ]);
    expect(report.violations).toEqual([]);
    const reindexAcks = acknowledgments(app).filter((ack) => ack.path.startsWith('EmbedBatch/Reindex'));
    expect(reindexAcks).toEqual([
      {
        path: 'EmbedBatch/Reindex/Role',
        id: 'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*]',
        reason: expect.stringMatching(/manifest\.json/),
      },
    ]);
  });

  it('leaves no warnings or errors in the stack annotations', () => {
    // Prepare
    const { stack } = synthEmbedBatch({ reindexSchedule: SCHEDULE, alarmEmail: 'ops@example.com' });

    // Assess
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});
