import { Match, Template } from 'aws-cdk-lib/assertions';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { StateDatabase } from '../../../constructs/aws/state-database';
import { newStack, testVpc } from './helpers';

function build(props = {}) {
  const stack = newStack();
  const vpc = testVpc(stack);
  const db = new StateDatabase(stack, 'State', { vpc, ...props });
  const gateway = new ec2.SecurityGroup(stack, 'GatewaySg', { vpc });
  db.allowFrom(gateway);
  return { stack, db, template: Template.fromStack(stack) };
}

describe('StateDatabase', () => {
  test('Aurora Serverless v2 PostgreSQL, encrypted with a CMK, deletion-protected, in isolated subnets', () => {
    const { template, stack } = build();
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      StorageEncrypted: true,
      DeletionProtection: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 },
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StateKey'), 'Arn'] },
    });
    const group = Object.values(template.findResources('AWS::RDS::DBSubnetGroup'))[0] as any;
    for (const s of stack.resolve(group.Properties.SubnetIds)) expect(s.Ref).toMatch(/isolatedSubnet/);
  });

  test('the administrator\'s credentials live in an encrypted, rotated secret: the only secret (the gateway\'s role has no password)', () => {
    const { template } = build();
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^StateKey'), 'Arn'] } });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    // The schedule names the secret through its attachment to the cluster, so it exists (and its
    // first rotation runs) only once the cluster does: a rotation's setSecret step changes the
    // password by logging in with the current one ("How rotation works",
    // docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html).
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^StateClusterSecretAttachment') },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    template.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', { TargetId: { Ref: Match.stringLikeRegexp('^StateCluster') }, TargetType: 'AWS::RDS::DBCluster' });
  });

  test('RDS IAM authentication: on for the cluster; grantConnect allows rds-db:connect on exactly the gateway role\'s dbuser ARN', () => {
    const stack = newStack();
    const db = new StateDatabase(stack, 'State', { vpc: testVpc(stack) });
    const task = new iam.Role(stack, 'Task', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    db.grantConnect(task);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::RDS::DBCluster', { EnableIAMDatabaseAuthentication: true });
    const clusterId = stack.resolve((db.cluster.node.defaultChild as any).logicalId);
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('Task'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    // Aurora: arn:aws:rds-db:<region>:<account>:dbuser:<DbClusterResourceId>/<user>
    // (docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html).
    expect(statements).toEqual([{
      Effect: 'Allow',
      Action: 'rds-db:connect',
      Resource: { 'Fn::Join': ['', ['arn:aws:rds-db:eu-west-1:123456789012:dbuser:', { 'Fn::GetAtt': [clusterId, 'DBClusterResourceId'] }, '/gatehouse_app']] },
    }]);
  });

  test('reachable only from the security groups it is opened to', () => {
    const { template } = build();
    const ingress = (Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as any[])
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes('StateSecurityGroup'));
    const sources = ingress.map((r) => JSON.stringify(r.Properties.SourceSecurityGroupId));
    expect(sources.some((s) => s.includes('GatewaySg'))).toBe(true);
    for (const r of ingress) expect(r.Properties.CidrIp).toBeUndefined();
    for (const g of Object.values(template.findResources('AWS::EC2::SecurityGroup')) as any[]) {
      for (const rule of g.Properties.SecurityGroupIngress ?? []) expect(rule.CidrIp).toBeUndefined();
    }
  });

  test('its URL: the cluster endpoint, the gateway\'s role without a password, verify-full', () => {
    const { db, stack } = build();
    expect(JSON.stringify(stack.resolve(db.url))).toMatch(/^\{"Fn::Join":\["",\["postgresql:\/\/gatehouse_app@",\{"Fn::GetAtt":\["StateCluster[0-9A-F]+","Endpoint.Address"\]\},":5432\/gatehouse\?sslmode=verify-full"\]\]\}$/);
  });

  test.each([
    [{ capacity: { min: 2, max: 1 } }],
    [{ capacity: { min: 0.3, max: 2 } }],
    [{ databaseName: 'Bad-Name' }],
  ])('refuses %j', (props) => {
    expect(() => build(props)).toThrow(/StateDatabase:/);
  });
  test('NIST gaps closed: an AWS Backup plan selects the cluster, enhanced monitoring every 60 s, the Data API on for the role bootstrap', () => {
    const { template, stack, db } = build();
    template.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: { BackupPlanRule: [Match.objectLike({ ScheduleExpression: 'cron(0 3 * * ? *)', Lifecycle: { DeleteAfterDays: 35 } })] },
    });
    template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: Match.anyValue() });
    const selection = Object.values(template.findResources('AWS::Backup::BackupSelection'))[0] as any;
    expect(JSON.stringify(selection.Properties.BackupSelection.Resources)).toContain(stack.resolve((db.cluster.node.defaultChild as any).logicalId));
    template.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 60, MonitoringRoleArn: Match.anyValue() });
    template.hasResourceProperties('AWS::RDS::DBCluster', { EnableHttpEndpoint: true });
  });

  test('backupPlan: false leaves AWS Backup out; a given plan is used instead of a new one; deletion protection can be turned off', () => {
    expect(Object.keys(build({ backupPlan: false, deletionProtection: false }).template.findResources('AWS::Backup::BackupPlan'))).toHaveLength(0);
    build({ backupPlan: false, deletionProtection: false }).template.hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: false });
    const stack = newStack();
    const plan = backup.BackupPlan.daily35DayRetention(stack, 'TeamPlan');
    new StateDatabase(stack, 'State', { vpc: testVpc(stack), backupPlan: plan });
    const template = Template.fromStack(stack);
    expect(Object.keys(template.findResources('AWS::Backup::BackupPlan'))).toEqual([expect.stringMatching(/^TeamPlan/)]);
    template.resourceCountIs('AWS::Backup::BackupSelection', 1);
  });
});
