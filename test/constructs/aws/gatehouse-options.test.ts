import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { Gatehouse, type GatehouseProps } from '../../../constructs/aws/gatehouse';
import { parseConfig } from '../../../gateway/src/config/load';
import { IMAGE_FIXTURE, newStack, testCertificate, testVpc } from './helpers';

const GITHUB = 'https://token.actions.githubusercontent.com';

/** GIVEN a platform team's own VPC, cluster, OIDC provider, private zone, agents' security group and role. */
function platformStack() {
  const stack = newStack();
  const vpc = testVpc(stack);
  const cluster = new ecs.Cluster(stack, 'TeamCluster', { vpc });
  const provider = iam.OidcProviderNative.fromOidcProviderArn(stack, 'TeamGithub', 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com');
  const zone = new route53.PrivateHostedZone(stack, 'Zone', { vpc, zoneName: 'internal.example.com' });
  const agents = new ec2.SecurityGroup(stack, 'Agents', { vpc });
  const auditor = new iam.Role(stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal() });
  const agentRole = new iam.Role(stack, 'QueueWorker', { assumedBy: new iam.AccountRootPrincipal() });
  const dbSecret = new secretsmanager.Secret(stack, 'WarehousePassword');
  return { stack, vpc, cluster, provider, zone, agents, auditor, agentRole, dbSecret };
}

const S3_ROLE = 'arn:aws:iam::210987654321:role/agents-s3-read';
const AWS_KEYS = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-aws-keys-AbCdEf';
const REPORTS_DB = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reports-db-QwErTy';

/** An `aws` connection of the gateway's schema (gateway/src/config/schema.ts, awsConnectionSchema). */
function awsSpec(service: string, brokered?: { roleArn: string; externalId?: string }) {
  return {
    kind: 'aws' as const, service, region: 'eu-west-1', route: { pathPrefix: `/aws/${service}` },
    callerCredentials: { keys: `aws-sm:${AWS_KEYS}` },
    ...(brokered ? { brokered } : {}),
  };
}

describe('Gatehouse options', () => {
  // WHEN one Gatehouse is built with every bring-your-own option (one synth for the file)
  const p = platformStack();
  const gatehouse = new Gatehouse(p.stack, 'G', {
    certificate: testCertificate(p.stack),
    imageDirectory: IMAGE_FIXTURE,
    existingNetwork: p.vpc,
    cluster: p.cluster,
    cpuArchitecture: ecs.CpuArchitecture.ARM64,
    deletionProtection: false,
    logRetentionDays: 30,
    clientCidrs: ['10.50.0.0/16'],
    clientSecurityGroups: [p.agents],
    domain: { domainName: 'gatehouse.internal.example.com', hostedZone: p.zone },
    issuers: [{ name: 'github', issuer: GITHUB, audiences: ['gatehouse'], federation: { subjects: ['repo:acme/api:ref:refs/heads/main'], oidcProvider: p.provider } }],
    connections: [
      // Two services through one role to assume, and one on the task role's own credentials.
      { name: 's3', spec: awsSpec('s3', { roleArn: S3_ROLE }) },
      { name: 'dynamodb', spec: awsSpec('dynamodb', { roleArn: S3_ROLE, externalId: 'gatehouse' }) },
      { name: 'sqs', spec: awsSpec('sqs', { roleArn: p.agentRole.roleArn }) },
      { name: 'kms', spec: awsSpec('kms') },
      // Secret references of the user's own: by token, by ARN with a field, and by name (not granted).
      { name: 'warehouse', spec: { kind: 'postgres', upstream: { host: 'warehouse.internal', database: 'dw', user: 'agent', password: `aws-sm:${p.dbSecret.secretArn}` } } },
      { name: 'reports', spec: { kind: 'postgres', upstream: { host: 'reports.internal', database: 'reports', user: 'agent', password: `aws-sm:${REPORTS_DB}#password` } } },
      { name: 'legacy', spec: { kind: 'postgres', upstream: { host: 'legacy.internal', database: 'legacy', user: 'agent', password: 'aws-sm:legacy-db-password' } } },
    ],
  });
  gatehouse.records.grantRead(p.auditor);
  const template = Template.fromStack(p.stack);

  test('aws connections: the task role may sts:AssumeRole exactly the roles they name (each once), and nothing broader', () => {
    const roleId = p.stack.resolve((gatehouse.gateway.taskRole.node.defaultChild as iam.CfnRole).logicalId);
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
      .filter((pol) => JSON.stringify(pol.Properties.Roles).includes(roleId))
      .flatMap((pol) => pol.Properties.PolicyDocument.Statement as any[]);
    const agentRoleArn = { 'Fn::GetAtt': [p.stack.resolve((p.agentRole.node.defaultChild as iam.CfnRole).logicalId), 'Arn'] };
    const sts = statements.filter((st) => JSON.stringify(st.Action).includes('sts:'));
    expect(sts).toEqual([{ Sid: 'AssumeConnectionRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [S3_ROLE, agentRoleArn] }]);
  });

  test('secret references in the specs: the task role may read exactly the secrets they name by ARN (each once), not one named by name only', () => {
    const roleId = p.stack.resolve((gatehouse.gateway.taskRole.node.defaultChild as iam.CfnRole).logicalId);
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
      .filter((pol) => JSON.stringify(pol.Properties.Roles).includes(roleId))
      .flatMap((pol) => pol.Properties.PolicyDocument.Statement as any[]);
    const read = statements.find((st) => st.Sid === 'ReadConnectionSecrets');
    expect(read).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
    const expected = [AWS_KEYS, { Ref: p.stack.resolve((p.dbSecret.node.defaultChild as secretsmanager.CfnSecret).logicalId) }, REPORTS_DB];
    expect(read.Resource).toHaveLength(expected.length);
    expect(read.Resource).toEqual(expect.arrayContaining(expected));
    expect(JSON.stringify(statements)).not.toContain('legacy-db-password');
  });

  test.each([
    ['a wildcard role', 'arn:aws:iam::210987654321:role/agents-*'],
    ['a user, not a role', 'arn:aws:iam::210987654321:user/alice'],
  ])('an aws connection naming %s to assume fails the synth', (_what, roleArn) => {
    const st = newStack();
    expect(() => new Gatehouse(st, 'G', { certificate: testCertificate(st), imageDirectory: IMAGE_FIXTURE, connections: [{ name: 's3', spec: awsSpec('s3', { roleArn }) }] }))
      .toThrow(`Gatehouse: connection "s3" brokered.roleArn must be one IAM role's ARN (arn:aws:iam::<account>:role/<name>, no wildcard), got "${roleArn}"`);
  });

  test('the configuration it emits (state.iamAuth aws-rds, aws and postgres connections) passes the gateway\'s own parser', () => {
    // Values known only at deploy time are CDK tokens in the YAML: each becomes a placeholder of the form its field expects.
    const yaml = String((gatehouse.gateway.configParameter.node.defaultChild as ssm.CfnParameter).value);
    expect(yaml).toMatch(/iamAuth: aws-rds/);
    const text = yaml
      .replace(/roleArn: \$\{Token\[[^\]]+\]\}/g, 'roleArn: arn:aws:iam::123456789012:role/cdk-value')
      .replace(/\$\{Token\[[^\]]+\]\}/g, 'cdkvalue');
    const result = parseConfig(text);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  test('reuses the VPC, the cluster and the OIDC provider instead of creating them', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    expect(gatehouse.gateway.cluster).toBe(p.cluster);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Federated: 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com' } })] },
    });
  });

  test('runs ARM64 tasks, keeps container logs 30 days, and turns deletion protection off when asked', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'false' }]),
    });
    template.hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: false });
  });

  test('admits the client CIDRs and the agents\' security group, and nothing else', () => {
    const lbSg = (Object.entries(template.findResources('AWS::EC2::SecurityGroup')) as [string, any][])
      .find(([id]) => id.includes('LoadBalancerSecurityGroup'))![1];
    const sources = lbSg.Properties.SecurityGroupIngress.map((r: any) => r.CidrIp ?? 'sg');
    expect(new Set(sources)).toEqual(new Set(['10.50.0.0/16']));
    const fromAgents = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).filter((r: any) =>
      JSON.stringify(r.Properties.SourceSecurityGroupId ?? '').includes('Agents'));
    expect(fromAgents.map((r: any) => r.Properties.FromPort).sort()).toEqual([443, 9443]);
  });

  test('puts an alias record for the domain name in the private zone', () => {
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'gatehouse.internal.example.com.',
      Type: 'A',
      AliasTarget: Match.objectLike({ DNSName: Match.anyValue() }),
    });
    expect(gatehouse.dnsRecord).toBeDefined();
  });

  test('is IConnectable: connections are the gateway tasks\' security group', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Gatehouse gateway tasks'),
      SecurityGroupEgress: Match.anyValue(),
    });
    expect(gatehouse.connections).toBe(gatehouse.gateway.connections);
  });

  test('metric helpers name the gateway\'s own metrics', () => {
    const stack = p.stack;
    expect(stack.resolve(gatehouse.metricRecordingFailures().metricName)).toBe('RecordingFailures');
    expect(gatehouse.metric5xx().namespace).toBe('Gatehouse');
    expect(gatehouse.metricHealthyReplicas().metricName).toBe('HealthyHostCount');
    expect(gatehouse.metricRunningReplicas().metricName).toBe('RunningTaskCount');
    expect(gatehouse.metric5xxRate().expression).toContain('errors / responses');
  });

  test('never acknowledges a cdk-nag finding on the caller\'s own resources', () => {
    const callers = [p.vpc, p.cluster, p.zone, p.agents, p.auditor] as unknown as { node: { findAll(): { node: { metadata: { type: string }[] } }[] } }[];
    for (const c of callers) {
      const acks = c.node.findAll().flatMap((x) => x.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY));
      expect(acks).toEqual([]);
    }
    // Control: the metadata this test looks for is what an acknowledgement writes.
    const own = new iam.Role(p.stack, 'OwnRole', { assumedBy: new iam.AccountRootPrincipal() });
    gatehouse.records.grantRead(own, { acknowledgePrefixWildcard: true });
    expect(own.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)).toHaveLength(1);
  });

  test('a created VPC and database take the network and database they are given', () => {
    const b = platformStack();
    new Gatehouse(b.stack, 'X', {
      certificate: testCertificate(b.stack), imageDirectory: IMAGE_FIXTURE,
      network: { cidr: '10.42.0.0/16' }, database: { capacity: { min: 1, max: 8 }, backupRetentionDays: 14 },
    } as GatehouseProps);
    const template = Template.fromStack(b.stack);
    const vpcs = Object.values(template.findResources('AWS::EC2::VPC')) as { Properties: { CidrBlock?: string } }[];
    expect(vpcs.map((v) => v.Properties.CidrBlock)).toContain('10.42.0.0/16');
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      BackupRetentionPeriod: 14,
      ServerlessV2ScalingConfiguration: { MinCapacity: 1, MaxCapacity: 8 },
    });
  });

  test.each([
    ['existingNetwork with network', (b: ReturnType<typeof platformStack>) => ({ existingNetwork: b.vpc, network: { cidr: '10.1.0.0/16' } }), /network applies to a created VPC; it conflicts with existingNetwork/],
    ['a cluster without its VPC', (b: ReturnType<typeof platformStack>) => ({ cluster: b.cluster }), /existing cluster lives in an existing VPC/],
    ['a malformed network.cidr', () => ({ network: { cidr: '10.1.0.0/8' } }), /cidr must be an IPv4 block from \/16 to \/20/],
    ['a database backup retention Aurora does not keep', () => ({ database: { backupRetentionDays: 36 } }), /database.backupRetentionDays must be a whole number between 1 and 35, got 36/],
    ['a domain outside its zone', (b: ReturnType<typeof platformStack>) => ({ existingNetwork: b.vpc, domain: { domainName: 'gatehouse.example.org', hostedZone: b.zone } }), /not inside the hosted zone "internal.example.com"/],
    ['an OIDC provider of another issuer', (b: ReturnType<typeof platformStack>) => ({
      issuers: [{ name: 'gl', issuer: 'https://gitlab.example.com', audiences: ['a'], federation: { subjects: ['project_path:a/b:ref_type:branch:ref:main'], oidcProvider: b.provider } }],
    }), /federation.oidcProvider is for "token.actions.githubusercontent.com", not "https:\/\/gitlab.example.com"/],
    ['a wildcard federation subject', () => ({
      issuers: [{ name: 'gh', issuer: GITHUB, audiences: ['a'], federation: { subjects: ['repo:acme/*'] } }],
    }), /has a wildcard; give exact subjects/],
    ['a size in CPU units instead of vCPU', () => ({ size: { cpu: 1024, memoryMiB: 2048 } }), /not a Fargate task size/],
  ])('refuses %s', (_name, props, message) => {
    const b = platformStack();
    expect(() => new Gatehouse(b.stack, 'X', { certificate: testCertificate(b.stack), imageDirectory: IMAGE_FIXTURE, ...props(b) } as GatehouseProps)).toThrow(message);
  });
});
