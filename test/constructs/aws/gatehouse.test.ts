import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Gatehouse, type GatehouseProps } from '../../../constructs/aws/gatehouse';
import { IMAGE_FIXTURE, newStack, testCertificate } from './helpers';

function build(props: Partial<GatehouseProps> = {}) {
  const stack = newStack();
  const gatehouse = new Gatehouse(stack, 'G', {
    certificate: testCertificate(stack),
    imageDirectory: IMAGE_FIXTURE,
    issuers: [{
      name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'],
      options: { kind: 'workload' }, federation: { subjects: ['repo:acme/api:ref:refs/heads/main'] },
    }],
    connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } }],
    ...props,
  });
  return { stack, gatehouse, template: Template.fromStack(stack) };
}

describe('Gatehouse', () => {
  test('the task role gets exactly: append+read its record prefix, sign, read its secrets, log in to its database; no delete and no admin wildcard', () => {
    const { template, stack, gatehouse } = build();
    const roleId = stack.resolve((gatehouse.gateway.taskRole.node.defaultChild as any).logicalId);
    const policies = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat())).sort();
    expect([...new Set(actions)]).toEqual([
      'kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:GetPublicKey', 'kms:Sign',
      'rds-db:connect', 's3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:PutObject',
      'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue',
    ].sort());
  });

  test('the configuration points the gateway at its bucket, key, secrets and database by reference, never by value', () => {
    const { template, stack } = build();
    const param = Object.values(template.findResources('AWS::SSM::Parameter'))[0] as any;
    const text = JSON.stringify(stack.resolve(param.Properties.Value));
    expect(text).toContain('mode: production');
    expect(text).toContain('type: s3');
    expect(text).toContain('signingKey: aws-kms:');
    expect(text).toContain('secret: aws-sm:');
    expect(text).toMatch(/url: postgresql:\/\/gatehouse_app@",\{"Fn::GetAtt":\["GStateCluster[0-9A-F]+","Endpoint.Address"\]\},":5432\/gatehouse\?sslmode=verify-full\\n  iamAuth: aws-rds\\n  awsRegion: eu-west-1\\n  caCert: file:\/app\/aws-rds-ca.pem\\n  schema: gatehouse/);
    expect(text).toContain('kind: workload');
  });

  test('busy polling is off unless asked for; when set it reaches the gateway configuration; a bad value fails the synth', () => {
    const configText = (stackAndTemplate: { stack: any; template: Template }) =>
      JSON.stringify(stackAndTemplate.stack.resolve((Object.values(stackAndTemplate.template.findResources('AWS::SSM::Parameter'))[0] as any).Properties.Value));
    expect(configText(build())).not.toContain('tuning');
    expect(configText(build({ busyPollMicroseconds: 1000 }))).toMatch(/tuning:\\n {2}busyPollMicroseconds: 1000/);
    expect(() => build({ busyPollMicroseconds: 20_000 })).toThrow(/busyPollMicroseconds must be a whole number from 0 to 10000, got 20000/);
  });

  test('the database admits only the gateway tasks (and the administrator\'s rotation function)', () => {
    const { template } = build();
    const toDb = (Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as any[])
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes('StateSecurityGroup'));
    const sources = toDb.map((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).sort();
    expect(sources).toEqual([
      expect.stringMatching(/^GGatewayServiceSecurityGroup/),
      expect.stringMatching(/^GStateClusterRotationSingleUserSecurityGroup/),
    ]);
    for (const r of toDb) expect(r.Properties.CidrIp).toBeUndefined();
  });

  test('an issuer with federation gets an OIDC provider and a role that can read records and verify digests', () => {
    const { template } = build();
    template.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    const { gatehouse } = build();
    expect(gatehouse.federations.get('github')).toBeDefined();
  });

  test('an existing database is used instead of creating one', () => {
    const stack = newStack();
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Db', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf');
    const gatehouse = new Gatehouse(stack, 'G', { certificate: testCertificate(stack), imageDirectory: IMAGE_FIXTURE, existingDatabase: { secret } });
    expect(gatehouse.database).toBeUndefined();
    Template.fromStack(stack).resourceCountIs('AWS::RDS::DBCluster', 0);
  });

  test.each([
    ['a database capacity with an existing database', (s: any) => ({ existingDatabase: { secret: secretsmanager.Secret.fromSecretNameV2(s, 'X', 'x') }, database: { capacity: { min: 1, max: 2 } } }), /database applies to a created database; it conflicts with existingDatabase/],
    ['a duplicate connection', () => ({ connections: [{ name: 'a', spec: {} }, { name: 'a', spec: {} }] }), /given more than once/],
    ['a credential secret inside spec', () => ({ connections: [{ name: 'a', spec: { credential: { type: 'bearer', secret: 'env:X' } } }] }), /sets credential.secret/],
    ['a plain-http issuer', () => ({ issuers: [{ name: 'x', issuer: 'http://x', audiences: ['a'] }] }), /https URL/],
    ['an ssh connection without the ssh listener (the gateway would refuse it)', () => ({ connections: [{ name: 'bastion', spec: { kind: 'ssh', upstream: { host: 'bastion.internal', user: 'ops' } } }] }), /ssh connection bastion needs tcpProtocols to include "ssh"/],
  ])('refuses %s', (_n, props, message) => {
    const stack = newStack();
    expect(() => new Gatehouse(stack, 'G', { certificate: testCertificate(stack), imageDirectory: IMAGE_FIXTURE, ...props(stack) } as GatehouseProps)).toThrow(message);
  });
});
