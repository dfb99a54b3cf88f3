import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { UpstreamCredentials } from '../../../constructs/aws/upstream-credentials';
import { newStack } from './helpers';

describe('UpstreamCredentials', () => {
  test('one KMS-encrypted secret per connection, readable by the task role and denied to every other principal', () => {
    const stack = newStack();
    const creds = new UpstreamCredentials(stack, 'Creds', { create: ['anthropic', 'github'] });
    const role = new iam.Role(stack, 'TaskRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    creds.grantRead(role);
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    for (const secret of Object.values(template.findResources('AWS::SecretsManager::Secret')) as any[]) {
      expect(secret.Properties.KmsKeyId).toBeDefined();
    }
    const policies = Object.values(template.findResources('AWS::SecretsManager::ResourcePolicy')) as any[];
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.ResourcePolicy.Statement).toContainEqual(expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'secretsmanager:GetSecretValue',
        Condition: { StringNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': ['TaskRole30FC0FBB', 'Arn'] }] } },
      }));
    }
    const grant = Object.values(template.findResources('AWS::IAM::Policy'))[0] as any;
    expect(grant.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
      Effect: 'Allow',
    }));
    expect(creds.referenceFor('anthropic')).toMatch(/^aws-sm:/);
  });

  test('existing secrets are used as they are', () => {
    const stack = newStack();
    const existing = secretsmanager.Secret.fromSecretCompleteArn(stack, 'E', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf');
    const creds = new UpstreamCredentials(stack, 'Creds', { existing: { github: existing } });
    expect(creds.referenceFor('github')).toBe('aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:gh-AbCdEf');
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  test('created secrets without a reader fail synthesis', () => {
    const stack = newStack();
    new UpstreamCredentials(stack, 'Creds', { create: ['a'] });
    expect(() => Template.fromStack(stack)).toThrow(/created secrets have no reader/);
  });

  test.each([
    ['a bad name', { create: ['Bad Name'] }, /lowercase letters/],
    ['a duplicate', { create: ['a', 'a'] }, /given more than once/],
  ])('refuses %s', (_n, props, message) => {
    expect(() => new UpstreamCredentials(newStack(), 'C', props)).toThrow(message);
  });

  test('an unknown connection has no reference', () => {
    const creds = new UpstreamCredentials(newStack(), 'C', {});
    expect(() => creds.referenceFor('nope')).toThrow(/no secret for connection "nope"/);
  });
});
