import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { RecordSigningKey } from '../../../constructs/aws/record-signing-key';
import { newStack } from './helpers';

describe('RecordSigningKey', () => {
  test('an asymmetric ECC P-256 signing key; the gateway may sign and nothing more', () => {
    const stack = newStack();
    const key = new RecordSigningKey(stack, 'Signing');
    const role = new iam.Role(stack, 'TaskRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    key.grantSign(role);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0] as any;
    const actions = policy.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat());
    expect(actions.sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign']);
    expect(key.reference).toMatch(/^aws-kms:/);
  });

  test('uses an existing key, and refuses an alias with it', () => {
    const stack = newStack();
    const existing = kms.Key.fromKeyArn(stack, 'K', 'arn:aws:kms:eu-west-1:123456789012:key/abc');
    expect(new RecordSigningKey(stack, 'S', { key: existing }).reference).toBe('aws-kms:arn:aws:kms:eu-west-1:123456789012:key/abc');
    expect(() => new RecordSigningKey(stack, 'T', { key: existing, alias: 'x' })).toThrow(/not both/);
  });
});
