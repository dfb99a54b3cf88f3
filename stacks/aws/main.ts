// The CDK app behind `npx cdk synth|deploy` (see cdk.json and docs/aws.md).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { assertGatewayBundleFresh } from '../gateway-bundle';
import { GatehouseStack } from './gatehouse-stack';
import { readSettings } from './settings';

const app = new App();
const settings = readSettings(app.node.getAllContext());
// Without a prebuilt image, cdk stages dist/ from the working directory: refuse a missing or stale bundle.
if (!settings.image) assertGatewayBundleFresh(process.cwd());
new GatehouseStack(app, settings.stackName, {
  settings,
  env: {
    account: settings.account ?? process.env.CDK_DEFAULT_ACCOUNT,
    region: settings.region ?? process.env.CDK_DEFAULT_REGION,
  },
  description: 'Gatehouse: Layer-7 gateway for AI coding agents (reference deployment)',
});
// Every synth is checked: an unacknowledged AwsSolutions or NIST 800-53 R5 finding stops `cdk synth` and `cdk deploy`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
app.synth();
