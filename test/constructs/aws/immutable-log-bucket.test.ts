import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ImmutableLogBucket } from '../../../constructs/aws/immutable-log-bucket';
import { newStack } from './helpers';

function build(props = {}) {
  const stack = newStack();
  const logs = new ImmutableLogBucket(stack, 'Records', props);
  const role = new iam.Role(stack, 'Gateway', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
  logs.grantAppend(role);
  return { stack, logs, template: Template.fromStack(stack) };
}

function recordBucket(template: Template): Record<string, any> {
  const buckets = template.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
  expect(Object.keys(buckets)).toHaveLength(1);
  return Object.values(buckets)[0] as Record<string, any>;
}

describe('ImmutableLogBucket', () => {
  test('locks every object in compliance mode for the default 365 days, with versioning', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } } },
      VersioningConfiguration: { Status: 'Enabled' },
    });
  });

  test('takes the retention as a prop', () => {
    const { template } = build({ retentionDays: 2555 });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
    });
  });

  test('encrypts with a customer-managed key that rotates', () => {
    const { template } = build();
    const bucket = recordBucket(template);
    const sse = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(sse.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    const keyId = sse.ServerSideEncryptionByDefault.KMSMasterKeyID['Fn::GetAtt'][0];
    expect(template.toJSON().Resources[keyId].Properties.EnableKeyRotation).toBe(true);
  });

  test('blocks all public access and logs server access to a separate bucket', () => {
    const { template } = build();
    const bucket = recordBucket(template);
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    const target = bucket.Properties.LoggingConfiguration.DestinationBucketName.Ref;
    expect(target).toBeDefined();
    expect(template.toJSON().Resources[target].Type).toBe('AWS::S3::Bucket');
    expect(template.toJSON().Resources[target].Properties.ObjectLockEnabled).toBeUndefined();
  });

  test('denies non-TLS access, deletes, and puts without If-None-Match', () => {
    const { template } = build();
    const policies = template.findResources('AWS::S3::BucketPolicy');
    const statements = Object.values(policies)
      .filter((p: any) => JSON.stringify(p.Properties.Bucket).includes('RecordsBucket'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'] }),
      expect.objectContaining({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true' } } }),
    ]));
  });

  test('the gateway may put and read under its prefix, and has no delete, retention or ACL action', () => {
    const { template } = build();
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0] as any;
    const statements = policy.Properties.PolicyDocument.Statement;
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject', 's3:ListBucket', 'kms:GenerateDataKey', 'kms:Decrypt']));
    for (const action of actions) {
      expect(action).not.toMatch(/Delete|Retention|LegalHold|Acl|Tagging|\*/);
    }
    const put = statements.find((s: any) => [s.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(put.Resource)).toContain('/gatehouse/*');
  });

  test('is never removed with the stack', () => {
    const { template } = build();
    template.hasResource('AWS::S3::Bucket', { Properties: Match.objectLike({ ObjectLockEnabled: true }), DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  test.each([
    [{ retentionDays: 0.5 }, /whole number of days/],
    [{ retentionDays: 1.5 }, /whole number of days/],
    [{ retentionDays: 0 }, /whole number of days/],
    [{ prefix: '/abs/' }, /prefix must be a relative key prefix/],
    [{ prefix: 'no-slash' }, /ending with "\/"/],
  ])('refuses %o', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
