import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

// Jest runs from the repository root (ES modules here have no __dirname).
export const REPO_ROOT = process.cwd();
/** A stand-in repository root with `gateway/Dockerfile` and `dist/`, so templates do not change with each gateway build. */
export const IMAGE_FIXTURE = path.join(REPO_ROOT, 'test/constructs/aws/fixtures/gateway-image');

/** The feature flags the real app runs with (cdk.json's context). */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

/** An app like the real one, with the built-in CloudFormation validator off (slow; one test keeps it). */
export function newApp(extra: Record<string, unknown> = {}, validate = false): App {
  return new App({ context: { ...cdkJsonContext(), ...extra }, builtinCloudFormationValidation: validate });
}

export function newStack(app: App = newApp()): Stack {
  return new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

export function testVpc(stack: Stack): ec2.IVpc {
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
}

export function testCertificate(stack: Stack): acm.ICertificate {
  return acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555');
}
