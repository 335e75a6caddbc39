import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandler } from '../../infra/bundling.ts';
import { StackConfigError } from '../../infra/errors.ts';
import { LARGE_FILE_DEFAULTS } from '../../infra/LargeFileStateMachine.ts';
import {
  CDK_CONTEXT,
  functionNamed,
  type Statement,
  statementsOf,
  synthEmbedBatch,
} from './synthEmbedBatch.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type State = Record<string, unknown> & { Type: string; Next?: string; End?: boolean };

/** The state machine's definition as JSON, CloudFormation references replaced by `<ref>`. */
function definitionOf(template: Template): { StartAt: string; States: Record<string, State> } {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as Resource[];
  const body = machine?.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
  return JSON.parse(text);
}

const actions = (statements: Statement[]): string[] =>
  statements.flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );

describe('Construct: LargeFileStateMachine (in EmbedBatchStack)', () => {
  let template: Template;
  let machineId: string;

  beforeAll(() => {
    ({ template } = synthEmbedBatch());
    [machineId] = Object.keys(template.findResources('AWS::StepFunctions::StateMachine')) as [string];
  });

  it('runs Plan, then a Distributed Map of shard workers reading the shard list from S3, then Finalise', () => {
    // Act
    const { StartAt, States } = definitionOf(template);

    // Assess
    expect(StartAt).toBe('Plan');
    expect(States.Plan).toMatchObject({ Type: 'Task', ResultPath: '$.plan', Next: 'Shards' });
    expect(States.Shards).toMatchObject({
      Type: 'Map',
      Next: 'Finalise',
      ResultPath: null,
      MaxConcurrency: LARGE_FILE_DEFAULTS.largeFileConcurrency,
      ToleratedFailurePercentage: 0,
      ItemReader: {
        Resource: 'arn:<ref>:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket.$': '$.plan.itemReader.bucket', 'Key.$': '$.plan.itemReader.key' },
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'EmbedShard',
        States: {
          EmbedShard: { Type: 'Task', ResultPath: '$.result', Next: 'ShardFinished' },
          // A worker that ran short of time answers `continue` and runs again from its checkpoint.
          ShardFinished: {
            Type: 'Choice',
            Choices: [{ Variable: '$.result.status', StringEquals: 'continue', Next: 'EmbedShard' }],
            Default: 'ShardDone',
          },
          ShardDone: { Type: 'Succeed' },
        },
      },
    });
    expect(States.Finalise).toMatchObject({ Type: 'Task', InputPath: '$.plan', End: true });
  });

  it('retries every Lambda step on Lambda service errors and throttles', () => {
    // Prepare
    const { States } = definitionOf(template);
    const processor = States.Shards?.ItemProcessor as { States: Record<string, State> } | undefined;
    const shard = processor?.States.EmbedShard;

    // Assess
    for (const task of [States.Plan, shard, States.Finalise]) {
      expect(task?.Retry).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            ErrorEquals: expect.arrayContaining(['Lambda.ServiceException', 'Lambda.AWSLambdaException']),
          }),
          expect.objectContaining({
            ErrorEquals: ['Lambda.TooManyRequestsException'],
            JitterStrategy: 'FULL',
          }),
        ]),
      );
    }
  });

  it('logs at level ALL to a KMS-encrypted log group and traces with X-Ray', () => {
    // Assess
    const machine = template.toJSON().Resources[machineId];
    expect(machine.Properties).toMatchObject({
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
    });
    const logGroupId =
      machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn[
        'Fn::GetAtt'
      ][0];
    const logGroup = template.toJSON().Resources[logGroupId];
    const keyId = logGroup.Properties.KmsKeyId['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[keyId]).toMatchObject({
      Type: 'AWS::KMS::Key',
      Properties: { EnableKeyRotation: true },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          }),
        ]),
      },
    });
  });

  it('builds the planner, worker and finaliser from the job bundle, traced, the worker on the shared budget', () => {
    for (const handler of ['index.plan', 'index.shard', 'index.finalise']) {
      const [, fn] = functionNamed(template, handler);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Timeout: 900,
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: {
            // The worker draws on the whole budget; the planner sizes shards for a fair share
            // (rateBudgetRps 5 / largeFileConcurrency 4).
            EMBED_RPS: handler === 'index.shard' ? '5' : '1.25',
            SHARD_BYTES: String(64 * 1024 * 1024),
            INPUT_PREFIX: 'input/',
            OUTPUT_PREFIX: 'output/',
          },
        },
      });
    }
  });

  it('gives each function only the S3 access it uses, and the token to the worker alone', () => {
    // Prepare
    const plan = statementsOf(template, 'index.plan');
    const shard = statementsOf(template, 'index.shard');
    const finalise = statementsOf(template, 'index.finalise');

    // Assess
    expect(actions(shard)).toContain('secretsmanager:GetSecretValue');
    expect(actions(plan)).not.toContain('secretsmanager:GetSecretValue');
    expect(actions(finalise)).not.toContain('secretsmanager:GetSecretValue');
    expect(finalise.map((statement) => statement.Sid)).not.toContain('ReadInputs');
    expect(actions(shard)).not.toContain('s3:DeleteObject');
    for (const action of actions([...plan, ...shard, ...finalise])) {
      expect(action, 'an action with a wildcard').not.toMatch(/\*/);
    }
  });

  it('lets the job function start this state machine only, look up its executions, and tells it where and above what size', () => {
    // Prepare
    const [, job] = functionNamed(template, 'index.handler');
    const jobStatements = statementsOf(template, 'index.handler');

    // Assess
    expect(job.Properties.Environment).toMatchObject({
      Variables: {
        STATE_MACHINE_ARN: { Ref: machineId },
        LARGE_FILE_BYTES: String(LARGE_FILE_DEFAULTS.largeFileBytes),
      },
    });
    const start = jobStatements.filter((statement) =>
      actions([statement]).some((a) => a.startsWith('states:')),
    );
    expect(start).toEqual([
      expect.objectContaining({
        Sid: 'StartLargeFileRuns',
        Action: 'states:StartExecution',
        Resource: { Ref: machineId },
      }),
      expect.objectContaining({
        Sid: 'DescribeLargeFileRuns',
        Action: 'states:DescribeExecution',
        Resource: {
          'Fn::Join': [
            '',
            expect.arrayContaining([':execution:', { 'Fn::GetAtt': [machineId, 'Name'] }, ':*']),
          ],
        },
      }),
    ]);
  });

  it('alarms on failed, timed-out and aborted executions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed' }) }),
        }),
      ]),
    });
  });

  it('takes MaxConcurrency and the size threshold from context, and sizes shards for a share of the budget', () => {
    // Act
    const { template: custom } = synthEmbedBatch({ largeFileConcurrency: '25', largeFileBytes: 1_000_000 });

    // Assess
    expect(definitionOf(custom).States.Shards).toMatchObject({ MaxConcurrency: 25 });
    expect(functionNamed(custom, 'index.plan')[1].Properties).toMatchObject({
      Environment: { Variables: { EMBED_RPS: '0.2' } },
    });
    expect(functionNamed(custom, 'index.shard')[1].Properties).toMatchObject({
      Environment: { Variables: { EMBED_RPS: '5' } },
    });
    expect(functionNamed(custom, 'index.handler')[1].Properties).toMatchObject({
      Environment: { Variables: { LARGE_FILE_BYTES: '1000000' } },
    });
  });

  it.each([
    ['largeFileConcurrency', 0],
    ['largeFileConcurrency', 'many'],
    ['largeFileConcurrency', 10_001],
    ['largeFileBytes', -1],
    ['largeFileBytes', 1.5],
  ])('refuses %s = %j, naming the key', (key, value) => {
    let error: unknown;
    try {
      synthEmbedBatch({ [key]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StackConfigError);
    expect((error as StackConfigError).key).toBe(key);
    expect((error as Error).message).toContain(`\`${key}\``);
  });

  it('matches the defaults that cdk.json documents', () => {
    for (const [key, value] of Object.entries(LARGE_FILE_DEFAULTS)) expect(CDK_CONTEXT[key], key).toBe(value);
  });
});

describe('Bundle: the large-file entry points', () => {
  let workDir: string;

  beforeAll(() => {
    workDir = mkdtempSync(path.join(tmpdir(), 'embed-batch-shard-bundle-'));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('exports plan, shard and finalise from the one bundle every function deploys', async () => {
    // Prepare
    const bundle = await bundleHandler(workDir);

    // Act: load it as Lambda would, in a fresh process outside the repository.
    const script = `const m = require(${JSON.stringify(bundle.file)}); process.stdout.write([m.handler, m.plan, m.shard, m.finalise].map((f) => typeof f).join(','))`;
    const loaded = spawnSync(process.execPath, ['-e', script], { cwd: workDir, encoding: 'utf8' });

    // Assess
    expect(loaded.status, loaded.stderr).toBe(0);
    expect(loaded.stdout).toBe('function,function,function,function');
  });
});
