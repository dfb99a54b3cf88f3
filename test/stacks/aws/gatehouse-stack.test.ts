import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { GatehouseStack } from '../../../stacks/aws/gatehouse-stack';
import { readSettings } from '../../../stacks/aws/settings';
import { IMAGE_FIXTURE, cdkJsonContext } from '../../constructs/aws/helpers';
import { checkEmittedConfig, renderCfnValue } from '../../support/gateway-config';
import { outputsNotInTable } from '../../support/stack-outputs';

const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

/** The reference stack exactly as `cdk synth` builds it from cdk.json, with a fixed certificate, region and image. */
function referenceApp(validate: boolean) {
  const context = { ...cdkJsonContext(), 'gatehouse:certificate': CERT };
  const app = new App({ context, builtinCloudFormationValidation: validate });
  const settings = readSettings(app.node.getAllContext());
  const stack = new GatehouseStack(app, 'Gatehouse', { settings, env: { region: 'eu-west-1' }, imageDirectory: IMAGE_FIXTURE });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
  return { app, stack };
}

interface Violation { ruleName: string; severity?: string; violatingConstructs?: { constructPath: string }[] }

function synthReport(app: App): { pluginReports: { pluginName: string; violations: Violation[] }[] } {
  let dir: string;
  try {
    dir = app.synth().directory;
  } catch (e) {
    // A plugin violation interrupts synthesis; the report is still written.
    dir = app.outdir;
    if (!(e instanceof Error) || !/Validation failed|violat/i.test(e.message)) throw e;
  }
  return JSON.parse(readFileSync(path.join(dir, 'validation-report.json'), 'utf8'));
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([id]) => !id.startsWith('CloudFormation-Validate::'))
      .map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^[A-Za-z]+::/, ''), reason })),
  );
}

describe('reference stack (stacks/aws)', () => {
  // The one test with the built-in CloudFormation validator on (slow, ~4 s): it lints every
  // resource against the CloudFormation schema offline.
  test('passes cdk-nag AwsSolutions and NIST 800-53 R5 with zero unacknowledged findings, and the CloudFormation validator', () => {
    const { app } = referenceApp(true);
    const report = synthReport(app);
    const errors = report.pluginReports.flatMap((p) =>
      p.violations.filter((v) => v.severity !== 'warning' && v.severity !== 'info').map((v) => `${p.pluginName}: ${v.ruleName} at ${v.violatingConstructs?.map((c) => c.constructPath).join(', ')}`),
    );
    expect(errors).toEqual([]);
  });

  test('cdk-nag, run directly on the tree, finds nothing unacknowledged (and does find a planted problem)', () => {
    const { stack } = referenceApp(false);
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    expect(new NIST80053R5Checks().validateScope(stack).violations).toEqual([]);
    // Control: the same checker reports an unacknowledged finding, so an empty list above means something.
    new s3.Bucket(stack, 'PlantedPlainBucket');
    const planted = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(planted).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
    const plantedNist = new NIST80053R5Checks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(plantedNist).toEqual(expect.arrayContaining(['NIST.800.53.R5-S3BucketLoggingEnabled', 'NIST.800.53.R5-S3DefaultEncryptionKMS']));
  });

  test('every acknowledged finding carries a reason a reviewer can check', () => {
    const { stack } = referenceApp(false);
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^(AwsSolutions-[A-Z]+\d+|NIST\.800\.53\.R5-[A-Za-z0-9]+)/);
      expect(a.reason.length).toBeGreaterThan(60);
    }
    // The list itself is reviewed: a new acknowledgement must show up in this snapshot.
    expect(acks.map((a) => `${a.id} @ ${a.path}`).sort()).toMatchSnapshot();
  });

  test('the service gets a configuration the gateway accepts, with the S3 sink, KMS signing key and state secret', () => {
    const { stack } = referenceApp(false);
    const params = Template.fromStack(stack).findResources('AWS::SSM::Parameter');
    const config = Object.values(params).find((p: any) => renderCfnValue(p.Properties.Value).includes('recording:')) as any;
    expect(config).toBeDefined();
    const { problems, sink } = checkEmittedConfig(renderCfnValue(config.Properties.Value));
    expect(problems).toEqual([]);
    expect(sink).toMatchObject({ type: 's3', region: 'eu-west-1' });
    const yamlText = renderCfnValue(config.Properties.Value);
    expect(yamlText).toMatch(/signingKey: "?aws-kms:/);
    expect(yamlText).toMatch(/mode: production/);
  });

  test('gatehouse:tcpProtocols postgres and ssh: a configuration the gateway accepts (tls, host key, ssh advertised on 22), listener secrets readable, cdk-nag clean', () => {
    const hostKey = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-ssh-host-key-AbCdEf';
    const context = {
      ...cdkJsonContext(), 'gatehouse:certificate': CERT, 'gatehouse:tcpProtocols': '["postgres","ssh"]',
      'gatehouse:sshHostKey': `aws-sm:${hostKey}`,
      'gatehouse:tcpTls': '{"cert":"aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-pg-tls-AbCdEf#cert","key":"aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-pg-tls-AbCdEf#key"}',
    };
    const app = new App({ context });
    const stack = new GatehouseStack(app, 'Gatehouse', { settings: readSettings(app.node.getAllContext()), env: { region: 'eu-west-1' }, imageDirectory: IMAGE_FIXTURE });
    const template = Template.fromStack(stack); // runs the stack's own check of the emitted configuration
    const yamlText = Object.values(template.findResources('AWS::SSM::Parameter')).map((p: any) => renderCfnValue(p.Properties.Value)).find((t) => t.includes('recording:'))!;
    expect(checkEmittedConfig(yamlText).problems).toEqual([]);
    expect(yamlText).toContain(`ssh:\n    address: 0.0.0.0\n    port: 2222\n    hostKey: aws-sm:${hostKey}\n    advertise:\n      port: 22`);
    const read = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((pol: any) => pol.Properties.PolicyDocument.Statement as any[]).find((st) => st.Sid === 'ReadListenerSecrets');
    expect([...read.Resource].sort()).toEqual(['arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-pg-tls-AbCdEf', hostKey]);
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    expect(new NIST80053R5Checks().validateScope(stack).violations).toEqual([]);
    expect(() => readSettings({ ...context, 'gatehouse:tcpTls': '{"cert":"aws-sm:x"}' })).toThrow(/gatehouse:tcpTls: expected \{"cert"/);
  });

  test('gatehouse:busyPollMicroseconds reaches the configuration, which the gateway still accepts; a non-number is refused', () => {
    const context = { ...cdkJsonContext(), 'gatehouse:certificate': CERT, 'gatehouse:busyPollMicroseconds': '1000' };
    const app = new App({ context });
    const settings = readSettings(app.node.getAllContext());
    expect(settings.busyPollMicroseconds).toBe(1000);
    const stack = new GatehouseStack(app, 'Gatehouse', { settings, env: { region: 'eu-west-1' }, imageDirectory: IMAGE_FIXTURE });
    const params = Template.fromStack(stack).findResources('AWS::SSM::Parameter');
    const yamlText = Object.values(params).map((p: any) => renderCfnValue(p.Properties.Value)).find((t) => t.includes('recording:'))!;
    expect(checkEmittedConfig(yamlText).problems).toEqual([]);
    expect(yamlText).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
    expect(() => readSettings({ ...context, 'gatehouse:busyPollMicroseconds': 'fast' })).toThrow(/gatehouse:busyPollMicroseconds: expected a number/);
  });

  test('an unknown or renamed gatehouse:* key fails the synth, naming the key; other keys pass through', () => {
    const context = { ...cdkJsonContext(), 'gatehouse:certificate': CERT };
    expect(() => readSettings({ ...context, 'gatehouse:replica': { min: 2, max: 4 } })).toThrow(/gatehouse:replica: unknown setting \(known: .*replicas/);
    expect(() => readSettings({ ...context, 'gatehouse:taskCount': { min: 2, max: 4 } })).toThrow(/gatehouse:taskCount: renamed to gatehouse:replicas/);
    // The names the three clouds now share (issue 17, point 8): each old AWS-only name says the new one.
    expect(() => readSettings({ ...context, 'gatehouse:vpcCidr': '10.1.0.0/16', 'gatehouse:databaseCapacity': { min: 1, max: 2 }, 'gatehouse:imageUri': 'x' }))
      .toThrow(/gatehouse:vpcCidr: renamed to gatehouse:network[\s\S]*gatehouse:databaseCapacity: renamed to gatehouse:database[\s\S]*gatehouse:imageUri: renamed to gatehouse:image/);
    expect(() => readSettings({ ...context, 'gatehouse:connections': [{ name: 'c', spec: { kind: 'http', upstream: 'https://x', route: { pathPrefix: '/x' } }, secretArn: 'arn' }] }))
      .toThrow(/gatehouse:connections\[0\]\.secretArn: renamed to secret/);
    expect(() => readSettings({ ...context, 'gatehouse:issuers': [{ name: 'g', issuer: 'https://x', audiences: ['a'], awsRole: { subjects: ['s'] } }] }))
      .toThrow(/gatehouse:issuers\[0\].awsRole: renamed to federation/);
    expect(readSettings({ ...context, 'other:key': 1 }).stackName).toBe('Gatehouse');
  });

  test('a connection spec is checked against the gateway\'s own schema at synth', () => {
    const context = { ...cdkJsonContext(), 'gatehouse:certificate': CERT };
    const bad = [{ name: 'x', spec: { kind: 'http', upstream: 'not a url', route: {}, credential: { type: 'bearer' } } }];
    expect(() => readSettings({ ...context, 'gatehouse:connections': bad })).toThrow(/gatehouse:connections\[0\].spec: upstream: .*\n.*route/);
  });

  test('template snapshot', () => { // and every output is named by the shared output table (constructs/core/stack-outputs.ts)
    const { stack } = referenceApp(false);
    const json = Template.fromStack(stack).toJSON();
    expect(json).toMatchSnapshot();
    const outputs = Object.keys(json.Outputs);
    const names = [...stack.gatehouse.credentials.secrets.keys(), ...stack.gatehouse.federations.keys()];
    expect(outputsNotInTable('aws', outputs, names)).toEqual([]);
    expect(outputs).toEqual(expect.arrayContaining(['GatewayAddress', 'Records', 'SigningKey', 'GatewayIdentity']));
    expect(outputs.filter((o) => o.startsWith('Credentials'))).toHaveLength(stack.gatehouse.credentials.secrets.size);
  });

  test('a placeholder certificate warns instead of failing synthesis', () => {
    const app = new App({ context: cdkJsonContext(), builtinCloudFormationValidation: false });
    const settings = readSettings(app.node.getAllContext());
    const stack = new GatehouseStack(app, 'G', { settings, env: { region: 'eu-west-1' }, imageDirectory: IMAGE_FIXTURE });
    const warnings = stack.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings.join('\n')).toMatch(/gatehouse:certificate is the placeholder/);
  });
});
