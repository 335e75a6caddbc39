import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { readConfig } from '../../infra/config.ts';
import { EmbedBatchStack } from '../../infra/EmbedBatchStack.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `cdk.json`'s context: the defaults and feature flags `cdk synth` uses. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'),
).context;

/**
 * An App with `cdk.json`'s context plus `overrides` (as `-c key=value`
 * would give them). Bundling is skipped: `aws:cdk:bundling-stacks` is the
 * CLI's own switch (`cdk synth --exclusively`), so the NodejsFunction and its
 * bundling options are the real ones, only esbuild does not run. Bundling is
 * tested on its own (`bundling.test.ts`).
 */
export function createApp(overrides: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], ...overrides } });
}

/** The app and stack as `infra/app.ts` builds them, from the given context overrides; not yet synthesized. */
export function buildEmbedBatch(overrides: Record<string, unknown> = {}): {
  app: App;
  stack: EmbedBatchStack;
} {
  const app = createApp(overrides);
  const stack = new EmbedBatchStack(app, 'EmbedBatch', { config: readConfig(app) });
  return { app, stack };
}

/**
 * `buildEmbedBatch` and the stack's template. This synthesizes the app: a
 * validation plugin added afterwards would not run (`app.synth()` returns the
 * cached assembly), so checks that need one use `buildEmbedBatch`.
 */
export function synthEmbedBatch(overrides: Record<string, unknown> = {}): {
  app: App;
  stack: EmbedBatchStack;
  template: Template;
} {
  const { app, stack } = buildEmbedBatch(overrides);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, unknown> };

/** One IAM policy statement as synthesized. */
export type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };

/** The one Node.js function of `template` with this handler (e.g. `index.shard`), as [logical id, resource]. */
export function functionNamed(template: Template, handler: string): [string, Resource] {
  const found = Object.entries(
    // Node only: CDK's own bucket-notifications function is `index.handler` too (Python).
    template.findResources('AWS::Lambda::Function', {
      Properties: { Handler: handler, Runtime: 'nodejs24.x' },
    }),
  );
  expect(found, `functions with handler ${handler}`).toHaveLength(1);
  return found[0] as [string, Resource];
}

/** Statements of the default policy of a function's role. */
export function statementsOf(template: Template, handler: string): Statement[] {
  const [, fn] = functionNamed(template, handler);
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
  ) as Resource[];
  return policies.flatMap(
    (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
  );
}
