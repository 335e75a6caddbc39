import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INPUT_SUFFIXES } from '../../infra/EmbedBatchStack.ts';
import { synthEmbedBatch } from './synthEmbedBatch.ts';

type Resource = { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown };
type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

/** The only resource of `type` (fails when there are more or none). */
function only(template: Template, type: string, props?: Record<string, unknown>): [string, Resource] {
  const found = Object.entries(template.findResources(type, props ? { Properties: props } : undefined));
  expect(found, `resources of type ${type}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** The statements of the job function's role policy. */
function functionStatements(template: Template): Statement[] {
  const [roleId] = only(template, 'AWS::IAM::Role', {
    AssumeRolePolicyDocument: Match.objectLike({
      Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
    }),
    Description: Match.stringLikeRegexp('embed-batch job'),
  });
  const [, policy] = only(template, 'AWS::IAM::Policy', { Roles: [{ Ref: roleId }] });
  return (policy.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement;
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** `{"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/input/*"]]}` -> `/input/*`. */
function objectSuffix(resource: unknown): string | undefined {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const last = join?.[1].at(-1);
  return typeof last === 'string' ? last : undefined;
}

describe('Stack: EmbedBatchStack', () => {
  let template: Template;
  let bucketId: string;
  let queueId: string;
  let deadLetterQueueId: string;
  let functionId: string;
  let secretId: string;

  beforeAll(() => {
    // Prepare
    ({ template } = synthEmbedBatch());
    [bucketId] = only(template, 'AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
    [queueId] = only(template, 'AWS::SQS::Queue', { RedrivePolicy: Match.anyValue() });
    [deadLetterQueueId] = only(template, 'AWS::SQS::Queue', { RedrivePolicy: Match.absent() });
    // The job function; the large-file state machine's functions share its bundle with other handlers.
    [functionId] = only(template, 'AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
    });
    [secretId] = only(template, 'AWS::SecretsManager::Secret');
  });

  describe('bucket', () => {
    it('encrypts objects, blocks all public access and keeps versions', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
      });
    });

    it('aborts incomplete multipart uploads after one day', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Status: 'Enabled',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            }),
          ]),
        },
      });
    });

    it('logs server access to a separate bucket that is encrypted, blocked and expires its logs', () => {
      // Assess
      const [, dataBucket] = only(template, 'AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
      });
      const logging = dataBucket.Properties?.LoggingConfiguration as {
        DestinationBucketName: { Ref: string };
      };
      const logBucketId = logging.DestinationBucketName.Ref;
      expect(logBucketId).not.toBe(bucketId);
      const logBucket = template.toJSON().Resources[logBucketId] as Resource;
      expect(logBucket.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [expect.objectContaining({ ExpirationInDays: expect.any(Number) })],
        },
      });
      expect(logBucket.DeletionPolicy).toBe('Retain');
    });

    it('refuses requests without TLS on both buckets', () => {
      // Assess
      const policies = template.findResources('AWS::S3::BucketPolicy', {
        Properties: {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        },
      });
      expect(Object.keys(policies)).toHaveLength(2);
    });

    it('is retained on stack deletion and never auto-deleted', () => {
      template.hasResource('AWS::S3::Bucket', {
        Properties: { VersioningConfiguration: { Status: 'Enabled' } },
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    });
  });

  describe('trigger', () => {
    it('notifies the queue once per input suffix, under the input prefix only', () => {
      // Assess
      const [, notifications] = only(template, 'Custom::S3BucketNotifications');
      const props = notifications.Properties as {
        BucketName: { Ref: string };
        NotificationConfiguration: {
          QueueConfigurations: { Events: string[]; Filter: unknown; QueueArn: unknown }[];
        };
      };
      expect(props.BucketName).toEqual({ Ref: bucketId });
      const configurations = props.NotificationConfiguration.QueueConfigurations;
      expect(configurations).toHaveLength(INPUT_SUFFIXES.length);
      expect(INPUT_SUFFIXES).toEqual([
        '.csv',
        '.tsv',
        '.jsonl',
        '.ndjson',
        '.csv.gz',
        '.tsv.gz',
        '.jsonl.gz',
        '.ndjson.gz',
      ]);
      for (const suffix of INPUT_SUFFIXES) {
        expect(configurations).toContainEqual({
          Events: ['s3:ObjectCreated:*'],
          Filter: {
            Key: {
              FilterRules: expect.arrayContaining([
                { Name: 'prefix', Value: 'input/' },
                { Name: 'suffix', Value: suffix },
              ]),
            },
          },
          QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        });
      }
      expect(JSON.stringify(configurations)).not.toContain('output/');
    });

    it('lets only this bucket send to the queue', () => {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 's3.amazonaws.com' },
              Action: Match.arrayWith(['sqs:SendMessage']),
              Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } } },
            }),
          ]),
        },
      });
    });
  });

  describe('queues', () => {
    it('moves a message to the dead-letter queue after 3 receives', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] },
          maxReceiveCount: 3,
        },
      });
    });

    it('hides a received message for 6 times the function timeout', () => {
      // Assess
      const resources = template.toJSON().Resources as Record<string, Resource>;
      const timeout = resources[functionId]?.Properties?.Timeout;
      expect(timeout).toBe(900);
      expect(resources[queueId]?.Properties?.VisibilityTimeout).toBe(6 * 900);
    });

    it('encrypts both queues and refuses requests without TLS', () => {
      for (const id of [queueId, deadLetterQueueId]) {
        expect(template.toJSON().Resources[id].Properties.SqsManagedSseEnabled).toBe(true);
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });
  });

  describe('function', () => {
    it('runs nodejs24.x on arm64 for up to 15 minutes with 1769 MB and active tracing', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 900,
        MemorySize: 1769,
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
    });

    it('gets its settings from the environment, with the secret by ARN only', () => {
      // Assess
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Environment: {
          Variables: {
            EMBEDDINGS_BASE_URL: 'https://openai.inference.de-txl.ionos.com/v1',
            EMBEDDINGS_MODEL: 'BAAI/bge-m3',
            EMBEDDINGS_API_KEY_SECRET_ARN: { Ref: secretId },
            INPUT_PREFIX: 'input/',
            OUTPUT_PREFIX: 'output/',
            EMBED_RPS: '5',
            EMBED_BURST: '1',
            RATE_TABLE: { Ref: Match.stringLikeRegexp('^RateBudgetTable') },
            EMBED_CONCURRENCY: '4',
            POWERTOOLS_SERVICE_NAME: 'embed-batch',
            POWERTOOLS_METRICS_NAMESPACE: 'EmbedBatch',
            NODE_OPTIONS: '--enable-source-maps',
          },
        },
      });
      const variables = template.toJSON().Resources[functionId].Properties.Environment.Variables;
      expect(Object.keys(variables)).not.toContain('EMBEDDINGS_API_KEY');
      expect(Object.keys(variables)).not.toContain('IONOS_API_TOKEN');
      expect(JSON.stringify(variables)).not.toMatch(/SecretString|resolve:secretsmanager/);
    });

    it('logs to its own log group, kept for a month', () => {
      // Assess
      const resources = template.toJSON().Resources;
      const logGroupId = resources[functionId].Properties.LoggingConfig.LogGroup.Ref;
      expect(resources[logGroupId]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 30 },
      });
    });

    it('reads the queue ten messages at a time (gathered for 2 s), at most maxConcurrency at once, reporting item failures', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionName: { Ref: functionId },
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 2,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    });
  });

  describe('permissions', () => {
    it('has no wildcard actions and no managed policies', () => {
      // Assess
      const statements = functionStatements(template);
      for (const action of statements.flatMap(actionsOf)) {
        expect(action, 'an action with a wildcard').not.toMatch(/\*/);
      }
      template.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp('embed-batch job'),
        ManagedPolicyArns: Match.absent(),
      });
    });

    it('uses Resource * only for X-Ray, which has no resource-level permissions', () => {
      // Assess
      const unscoped = functionStatements(template).filter((statement) => statement.Resource === '*');
      expect(unscoped.flatMap(actionsOf).sort()).toEqual([
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    });

    it('reads objects under input/ and writes objects under output/ only', () => {
      // Assess
      const s3Statements = functionStatements(template).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('s3:')),
      );
      const byObjectPrefix = new Map<string, string[]>();
      for (const statement of s3Statements) {
        if (actionsOf(statement).includes('s3:ListBucket')) continue;
        const suffix = objectSuffix(statement.Resource);
        expect(suffix, JSON.stringify(statement)).toBeDefined();
        byObjectPrefix.set(suffix as string, [
          ...(byObjectPrefix.get(suffix as string) ?? []),
          ...actionsOf(statement),
        ]);
      }
      expect(Object.fromEntries([...byObjectPrefix].map(([k, v]) => [k, v.sort()]))).toEqual({
        '/input/*': ['s3:GetObject'],
        '/output/*': ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'],
      });
    });

    it('lists the bucket only under the job prefixes', () => {
      // Assess
      const listing = functionStatements(template).filter((statement) =>
        actionsOf(statement).includes('s3:ListBucket'),
      );
      expect(listing).toEqual([
        expect.objectContaining({
          Action: 's3:ListBucket',
          Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] },
          Condition: { StringLike: { 's3:prefix': ['input/*', 'output/*'] } },
        }),
      ]);
    });

    it('reads the API token secret, and no other', () => {
      // Assess
      const secretStatements = functionStatements(template).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
      );
      expect(secretStatements).toEqual([
        expect.objectContaining({
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: { Ref: secretId },
        }),
      ]);
    });

    it('consumes the job queue', () => {
      expect(functionStatements(template)).toContainEqual(
        expect.objectContaining({
          Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
          Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
        }),
      );
    });
  });

  describe('secret', () => {
    it('is created without a value in the template', () => {
      // Assess
      const [, secret] = only(template, 'AWS::SecretsManager::Secret');
      expect(secret.Properties).toMatchObject({ Description: expect.stringContaining('put-secret-value') });
      expect(secret.Properties).not.toHaveProperty('SecretString');
    });

    it('is imported by name when `secretName` is set, and read-granted by name', () => {
      // Act
      const { template: imported } = synthEmbedBatch({ secretName: 'prod/ionos-token' });

      // Assess
      imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
      const variables = Object.values(
        imported.findResources('AWS::Lambda::Function', {
          Properties: { Runtime: 'nodejs24.x' },
        }),
      )[0]?.Properties.Environment.Variables;
      expect(JSON.stringify(variables.EMBEDDINGS_API_KEY_SECRET_ARN)).toContain(':secret:prod/ionos-token');
      const grant = functionStatements(imported).find((statement) =>
        actionsOf(statement).includes('secretsmanager:GetSecretValue'),
      );
      expect(JSON.stringify(grant?.Resource)).toContain(':secret:prod/ionos-token-??????');
    });
  });

  describe('operations', () => {
    it('alarms on a non-empty dead-letter queue, function errors, throttles and a stale backlog', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId, 'QueueName'] } }],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
      for (const metric of ['Errors', 'Throttles']) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
        });
      }
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      });
    });

    it('creates no topic and no alarm actions by default', () => {
      template.resourceCountIs('AWS::SNS::Topic', 0);
      for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties.AlarmActions).toBeUndefined();
      }
    });

    it('notifies an encrypted, TLS-only topic with an email subscription when `alarmEmail` is set', () => {
      // Act
      const { template: withEmail } = synthEmbedBatch({ alarmEmail: 'ops@example.com' });

      // Assess
      const [topicId, topic] = only(withEmail, 'AWS::SNS::Topic');
      const { KmsMasterKeyId } = topic.Properties as { KmsMasterKeyId: { 'Fn::GetAtt': [string, string] } };
      const keyId = KmsMasterKeyId['Fn::GetAtt'][0];
      withEmail.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
      expect(withEmail.toJSON().Resources[keyId]).toMatchObject({
        Type: 'AWS::KMS::Key',
        DeletionPolicy: 'Delete',
        Properties: { PendingWindowInDays: 7 },
      });
      withEmail.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
          ]),
        },
      });
      withEmail.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'ops@example.com',
        TopicArn: { Ref: topicId },
      });
      const alarms = Object.values(withEmail.findResources('AWS::CloudWatch::Alarm'));
      // The job's four and the large-file state machine's failed executions.
      expect(alarms).toHaveLength(5);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      }
    });

    it('notifies an existing topic when `alarmTopicArn` is set', () => {
      // Act
      const arn = 'arn:aws:sns:eu-central-1:123456789012:ops-alarms';
      const { template: withTopic } = synthEmbedBatch({ alarmTopicArn: arn });

      // Assess
      withTopic.resourceCountIs('AWS::SNS::Topic', 0);
      for (const alarm of Object.values(withTopic.findResources('AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties.AlarmActions).toEqual([arn]);
      }
    });
  });

  describe('settings', () => {
    it('gives every invocation the whole rate budget, shared, whatever the maximum concurrency', () => {
      // Act
      const { template: custom } = synthEmbedBatch({
        rateBudgetRps: '10',
        maxConcurrency: '4',
        memorySize: 3008,
        inputPrefix: 'uploads',
        outputPrefix: 'vectors/',
      });

      // Assess
      custom.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 3008,
        Handler: 'index.handler',
        Environment: {
          Variables: Match.objectLike({
            EMBED_RPS: '10',
            INPUT_PREFIX: 'uploads/',
            OUTPUT_PREFIX: 'vectors/',
          }),
        },
      });
      custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        ScalingConfig: { MaximumConcurrency: 4 },
      });
      const suffixes = JSON.stringify(custom.findResources('Custom::S3BucketNotifications'));
      expect(suffixes).toContain('"Value":"uploads/"');
      expect(suffixes).not.toContain('"Value":"input/"');
    });

    it('outputs the bucket name, queue URL and secret ARN', () => {
      template.hasOutput('BucketName', { Value: { Ref: bucketId } });
      template.hasOutput('QueueUrl', { Value: { Ref: queueId } });
      template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: deadLetterQueueId } });
      template.hasOutput('ApiKeySecretArn', { Value: { Ref: secretId } });
      template.hasOutput('ApiKeySecretName', Match.anyValue());
    });
  });
});
