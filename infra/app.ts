import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.ts';
import { EmbedBatchStack } from './EmbedBatchStack.ts';

/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Environment-agnostic:
 * no account or region lookups, so `cdk synth` needs no AWS credentials; the
 * target comes from the credentials `cdk deploy` runs with.
 */
const app = new App();
new EmbedBatchStack(app, 'EmbedBatch', { config: readConfig(app) });
// Any unacknowledged AwsSolutions finding fails synthesis.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
