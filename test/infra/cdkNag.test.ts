import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildEmbedBatch, synthEmbedBatch } from './synthEmbedBatch.ts';

/** Every acknowledgment recorded in the app's construct tree, as `{ path, id, reason }`. */
function acknowledgments(app: App): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        // Recorded as `Annotation::<rule id>`, the same prefix cdk-nag strips when it matches them.
        found.push({ path: construct.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}

/** What `cdk synth` does: the stack from `infra/app.ts`, AwsSolutionsChecks as a validation plugin. */
function synthWithChecks(overrides: Record<string, unknown> = {}): App {
  const { app } = buildEmbedBatch(overrides);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/**
 * What the large-file state machine adds (`infra/LargeFileStateMachine.ts`, each acknowledged there):
 * X-Ray and log delivery on `*`, S3 object prefixes, CDK's invoke grant on
 * function versions, and the Distributed Map's child executions.
 */
const SM_EXECUTIONS =
  'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"LargeFilesStateMachineFD2BBAB8"}]}]}';
const LARGE_FILE_FINDINGS = [
  'AwsSolutions-IAM5[Resource::*] @ EmbedBatch/LargeFiles/Finalise/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::*] @ EmbedBatch/LargeFiles/Plan/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::*] @ EmbedBatch/LargeFiles/Shard/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::*] @ EmbedBatch/LargeFiles/StateMachine/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/input/*] @ EmbedBatch/LargeFiles/Plan/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/input/*] @ EmbedBatch/LargeFiles/Shard/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*] @ EmbedBatch/LargeFiles/Finalise/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*] @ EmbedBatch/LargeFiles/Plan/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*] @ EmbedBatch/LargeFiles/Shard/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*] @ EmbedBatch/LargeFiles/StateMachine/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<LargeFilesFinaliseFunction571F8768.Arn>:*] @ EmbedBatch/LargeFiles/StateMachine/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<LargeFilesPlanFunctionCC2BE109.Arn>:*] @ EmbedBatch/LargeFiles/StateMachine/Role/DefaultPolicy/Resource',
  'AwsSolutions-IAM5[Resource::<LargeFilesShardFunctionE3DDF3A2.Arn>:*] @ EmbedBatch/LargeFiles/StateMachine/Role/DefaultPolicy/Resource',
  `AwsSolutions-IAM5[Resource::${SM_EXECUTIONS}/*:*] @ EmbedBatch/LargeFiles/StateMachine/DistributedMapPolicy/Resource`,
  `AwsSolutions-IAM5[Resource::${SM_EXECUTIONS}:*] @ EmbedBatch/LargeFiles/StateMachine/DistributedMapPolicy/Resource`,
];

const VARIANTS: [string, Record<string, unknown>][] = [
  ['the default settings', {}],
  ['an alarm email', { alarmEmail: 'ops@example.com' }],
  ['an existing alarm topic', { alarmTopicArn: 'arn:aws:sns:eu-central-1:123456789012:ops-alarms' }],
  ['an existing secret', { secretName: 'prod/ionos-token' }],
  ['a reindex schedule', { reindexSchedule: 'rate(1 day)', alarmEmail: 'ops@example.com' }],
];

describe('Stack: EmbedBatchStack', () => {
  describe('AwsSolutionsChecks (cdk-nag)', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it.each(VARIANTS)('synthesizes with %s and no unacknowledged finding', (_name, overrides) => {
      // Prepare
      const app = synthWithChecks(overrides);

      // Act: synthesis runs the plugin and throws on an error finding; warnings only reach the report.
      const assembly = app.synth();
      const report = new AwsSolutionsChecks(app).validateScope(app);

      // Assess
      expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
      const reportFile = path.join(assembly.directory, 'validation-report.json');
      expect(existsSync(reportFile)).toBe(true);
      expect(JSON.parse(readFileSync(reportFile, 'utf8')).pluginReports).toEqual([]);
    });

    it('fails synthesis on an unacknowledged error finding', () => {
      // Prepare: drop the one acknowledgment of the secret's rotation finding.
      const acknowledge = Validations.prototype.acknowledge;
      vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (
        this: Validations,
        ...rules
      ) {
        acknowledge.apply(
          this,
          rules.filter((rule) => rule.id !== 'AwsSolutions-SMG4'),
        );
      });

      // Act
      const app = synthWithChecks();

      // Assess
      expect(() => app.synth()).toThrow(/AwsSolutions-SMG4/);
    });

    it('acknowledges exactly the findings the design accepts, each with a reason', () => {
      // Prepare
      vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
      const raw = synthWithChecks({ alarmEmail: 'ops@example.com' });
      vi.restoreAllMocks();
      const app = synthWithChecks({ alarmEmail: 'ops@example.com' });

      // Act
      const findings = new AwsSolutionsChecks(raw)
        .validateScope(raw)
        .violations.flatMap((violation) =>
          violation.violatingResources.map((resource) => `${violation.ruleName} @ ${resource.constructPath}`),
        );
      const acknowledged = acknowledgments(app);

      // Assess: every finding is acknowledged and every acknowledgment answers a finding.
      expect(findings.sort()).toEqual(
        [
          'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole] @ EmbedBatch/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource',
          'AwsSolutions-IAM5[Resource::*] @ EmbedBatch/Embed/Role/DefaultPolicy/Resource',
          'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/input/*] @ EmbedBatch/Embed/Role/DefaultPolicy/Resource',
          'AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/output/*] @ EmbedBatch/Embed/Role/DefaultPolicy/Resource',
          'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<LargeFilesStateMachineFD2BBAB8.Name>:*] @ EmbedBatch/Embed/Role/DefaultPolicy/Resource',
          'AwsSolutions-SMG4 @ EmbedBatch/ApiKeySecret/Resource',
          'AwsSolutions-DDB3 @ EmbedBatch/RateBudget/Table/Resource',
          ...LARGE_FILE_FINDINGS,
        ].sort(),
      );
      for (const finding of findings) {
        const [rule, resourcePath] = finding.split(' @ ') as [string, string];
        expect(
          acknowledged.some((ack) => ack.id === rule && resourcePath.startsWith(`${ack.path}/`)),
          `an acknowledgment of ${finding}`,
        ).toBe(true);
      }
      expect(acknowledged).toHaveLength(findings.length);
      for (const ack of acknowledged) {
        expect(ack.reason.length, `the reason for ${ack.id}`).toBeGreaterThan(40);
      }
    });

    it('leaves no warnings or errors in the stack annotations', () => {
      // Prepare
      const { stack } = synthEmbedBatch({ alarmEmail: 'ops@example.com' });

      // Assess
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    });
  });
});
