import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Gatehouse } from '../../../constructs/aws/gatehouse';
import { AWS_RDS_CA_PATH } from '../../../constructs/core/image-files';
import { configSchema } from '../../../gateway/src/config/schema';
import { IMAGE_FIXTURE, newStack, testCertificate } from './helpers';

/**
 * One test per row of the parity table in docs/deployment.md (the test name starts with the row
 * id), on the AWS kit with its defaults. Azure and Google Cloud have the same rows in their own
 * parity tests.
 */
const stack = newStack();
const gatehouse = new Gatehouse(stack, 'G', {
  certificate: testCertificate(stack),
  imageDirectory: IMAGE_FIXTURE,
  issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], federation: { subjects: ['repo:acme/api:ref:refs/heads/main'] } }],
  connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } }],
});
const template = Template.fromStack(stack);
const resources = (type: string) => Object.entries(template.findResources(type)) as [string, any][];
const id = (construct: { node: { defaultChild?: unknown } }) => stack.resolve((construct.node.defaultChild as { logicalId: string }).logicalId) as string;
const taskRoleStatements = () => resources('AWS::IAM::Policy')
  .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(id(gatehouse.gateway.taskRole as any)))
  .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
const configText = () => JSON.stringify(stack.resolve(resources('AWS::SSM::Parameter')[0][1].Properties.Value));

describe('AWS parity (docs/deployment.md)', () => {
  test('private-networking: tasks without public IPs in private subnets, the database in isolated subnets, flow logs on', () => {
    const service = resources('AWS::ECS::Service')[0][1];
    const net = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(net.AssignPublicIp).toBe('DISABLED');
    expect(JSON.stringify(net.Subnets)).toMatch(/privateSubnet/);
    expect(JSON.stringify(net.Subnets)).not.toMatch(/publicSubnet/);
    const subnetGroup = resources('AWS::RDS::DBSubnetGroup')[0][1];
    expect(JSON.stringify(subnetGroup.Properties.SubnetIds)).toMatch(/isolatedSubnet/);
    expect(JSON.stringify(subnetGroup.Properties.SubnetIds)).not.toMatch(/publicSubnet|privateSubnet/);
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 's3' });
    for (const [, subnet] of resources('AWS::EC2::Subnet')) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
  });

  test('internal-ingress-only: an internal load balancer, open only to the VPC range; tasks admit only the load balancer', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Type: 'network' });
    const lbSg = resources('AWS::EC2::SecurityGroup').find(([k]) => k.includes('LoadBalancerSecurityGroup'))![1];
    for (const rule of lbSg.Properties.SecurityGroupIngress) {
      expect(rule.CidrIp).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/NetworkVpc/), 'CidrBlock'] });
    }
    const toTasks = resources('AWS::EC2::SecurityGroupIngress').filter(([, r]) => JSON.stringify(r.Properties.GroupId).includes('GatewayServiceSecurityGroup'));
    expect(toTasks.length).toBeGreaterThan(0);
    for (const [, r] of toTasks) expect(JSON.stringify(r.Properties.SourceSecurityGroupId)).toMatch(/LoadBalancerSecurityGroup/);
    expect(JSON.stringify(template.toJSON())).not.toContain('0.0.0.0/0"},"IpProtocol":"tcp","FromPort":443');
  });

  test('customer-managed-keys: records, secrets, database, container logs and alarm topic use rotating KMS keys of the stack', () => {
    const bucket = resources('AWS::S3::Bucket').find(([, b]) => b.Properties.ObjectLockEnabled)![1];
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: expect.anything() });
    for (const [, secret] of resources('AWS::SecretsManager::Secret')) expect(secret.Properties.KmsKeyId).toBeDefined();
    template.hasResourceProperties('AWS::RDS::DBCluster', { StorageEncrypted: true, KmsKeyId: Match.anyValue() });
    for (const [, group] of resources('AWS::Logs::LogGroup')) expect(group.Properties.KmsKeyId).toBeDefined();
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    for (const [, key] of resources('AWS::KMS::Key')) {
      if (key.Properties.KeySpec === undefined) expect(key.Properties.EnableKeyRotation).toBe(true);
    }
  });

  test('record-overwrite-delete-prevention: Object Lock in compliance mode; deletes and unconditional puts denied to everyone', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 365 } } },
    });
    const policy = resources('AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p).includes('DenyOverwrites'))![1];
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Sid: 'DenyDeletes', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'] }),
      expect.objectContaining({ Sid: 'DenyOverwrites', Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true' } } }),
    ]));
    const taskActions = taskRoleStatements().flatMap((s) => [s.Action].flat());
    expect(taskActions.filter((a: string) => /Delete|PutObjectRetention|PutObjectLegalHold|BypassGovernance|PutBucket/.test(a))).toEqual([]);
  });

  test('access-audit-logs-delivered: server access logs and load balancer logs go to a bucket whose policy lets the delivering services write', () => {
    const records = resources('AWS::S3::Bucket').find(([, b]) => b.Properties.ObjectLockEnabled)![1];
    const target = records.Properties.LoggingConfiguration.DestinationBucketName.Ref as string;
    expect(target).toMatch(/AccessLogs/);
    const targetPolicy = resources('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === target)![1];
    const statements = targetPolicy.Properties.PolicyDocument.Statement as any[];
    const s3Logging = statements.find((s) => s.Principal?.Service === 'logging.s3.amazonaws.com');
    expect(s3Logging).toMatchObject({ Effect: 'Allow', Action: 's3:PutObject', Condition: { ArnLike: { 'aws:SourceArn': expect.anything() }, StringEquals: { 'aws:SourceAccount': expect.anything() } } });
    // Load balancer access logs and flow logs: delivered by the log delivery service into an SSE-KMS bucket
    // whose key lets that service encrypt (delivery-logs-bucket.ts), itself access-logged.
    const delivery = id(gatehouse.deliveryLogs.bucket);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }, { Key: 'access_logs.s3.bucket', Value: { Ref: delivery } }]),
    });
    template.hasResourceProperties('AWS::EC2::FlowLog', { LogDestination: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ 'Fn::GetAtt': [delivery, 'Arn'] }])]) }) });
    const deliveryPolicy = resources('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === delivery)![1];
    expect(JSON.stringify(deliveryPolicy.Properties.PolicyDocument)).toMatch(/delivery\.logs\.amazonaws\.com|156460612806/);
    const deliveryBucket = template.toJSON().Resources[delivery];
    expect(deliveryBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    expect(deliveryBucket.Properties.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: target });
    const keyPolicy = template.toJSON().Resources[id(gatehouse.deliveryLogs.encryptionKey)].Properties.KeyPolicy.Statement as any[];
    expect(keyPolicy).toContainEqual(expect.objectContaining({ Sid: 'LogDeliveryEncrypts', Principal: { Service: 'delivery.logs.amazonaws.com' }, Action: expect.arrayContaining(['kms:GenerateDataKey*']) }));
    // SSE-S3, as S3 server access logging requires of its target (immutable-log-bucket.ts, SSE_S3_ONLY_REASON).
    const targetBucket = template.toJSON().Resources[target];
    expect(targetBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(targetBucket.Properties.ObjectLockEnabled).toBeUndefined();
  });

  test('alarm-unhealthy-replicas: unhealthy targets and running tasks below the floor notify the topic', () => {
    const topic = { Ref: expect.stringMatching(/AlarmsTopic/) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'UnHealthyHostCount', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'breaching' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RunningTaskCount', Threshold: 2, ComparisonOperator: 'LessThanThreshold' });
    for (const [, alarm] of resources('AWS::CloudWatch::Alarm')) expect(alarm.Properties.AlarmActions).toEqual([topic]);
  });

  test('alarm-5xx-rate: a metric filter on 5xx statuses and an alarm on their share of responses', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.status >= 500 }', MetricTransformations: [Match.objectLike({ MetricName: 'HttpServerErrors' })] });
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.status = * }' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(responses > 0, 100 * errors / responses, 0)' })]),
    });
  });

  test('alarm-recording-failures: a metric filter on GH_ERR_RECORDING_* codes and an alarm on the first one', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', { FilterPattern: '{ $.code = "GH_ERR_RECORDING_*" }' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RecordingFailures', Namespace: 'Gatehouse', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  test('federation-exact-subjects: the federated role pins audience and exact subjects with StringEquals; wildcards are refused', () => {
    const role = gatehouse.federations.get('github')!.role;
    const trust = template.toJSON().Resources[id(role)].Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Condition).toEqual({
      StringEquals: {
        'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
        'token.actions.githubusercontent.com:sub': 'repo:acme/api:ref:refs/heads/main',
      },
    });
    const other = newStack();
    expect(() => new Gatehouse(other, 'G', {
      certificate: testCertificate(other), imageDirectory: IMAGE_FIXTURE,
      issuers: [{ name: 'gh', issuer: 'https://token.actions.githubusercontent.com', audiences: ['a'], federation: { subjects: ['repo:acme/*'] } }],
    })).toThrow(/wildcard/);
  });

  test('graceful-drain-within-termination-window: ECS waits longer after SIGTERM than the gateway drains', () => {
    const drain = configSchema.shape.shutdownGraceSeconds.parse(undefined) as number;
    expect(drain).toBe(25);
    const container = resources('AWS::ECS::TaskDefinition')[0][1].Properties.ContainerDefinitions[0];
    expect(container.StopTimeout).toBeGreaterThan(drain);
    // "For tasks that use the Fargate launch type, the max stop timeout value is 120 seconds"
    // (docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, stopTimeout).
    expect(container.StopTimeout).toBeLessThanOrEqual(120);
    expect(configText()).not.toContain('shutdownGraceSeconds');
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
    });
  });

  test('hsm-signing-key: an asymmetric KMS key signs; the task role may sign but never export or decrypt with it', () => {
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(configText()).toMatch(/signingKey: aws-kms:",\{"Fn::GetAtt":\["GSigningKey/);
    const onSigningKey = taskRoleStatements().filter((s) => JSON.stringify(s.Resource).includes('GSigningKey'));
    expect(onSigningKey.flatMap((s) => [s.Action].flat()).sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign']);
  });

  test('least-privilege-state-database: the gateway logs in as its own role, created by a bootstrap, with RDS IAM tokens (no password for it anywhere); it cannot read the administrator\'s secret', () => {
    const db = gatehouse.database!;
    expect(configText()).toMatch(/url: postgresql:\/\/gatehouse_app@",\{"Fn::GetAtt":\["GStateCluster[0-9A-F]+","Endpoint.Address"\]\},":5432\/gatehouse\?sslmode=verify-full\\n {2}iamAuth: aws-rds\\n/);
    template.hasResourceProperties('AWS::RDS::DBCluster', { EnableIAMDatabaseAuthentication: true });
    // rds-db:connect on the gateway's database user only (never the administrator "gatehouse").
    const connect = taskRoleStatements().filter((s) => [s.Action].flat().includes('rds-db:connect'));
    expect(connect).toHaveLength(1);
    expect(JSON.stringify(connect[0].Resource)).toMatch(/:dbuser:",\{"Fn::GetAtt":\["GStateCluster[0-9A-F]+","DBClusterResourceId"\]\},"\/gatehouse_app"\]\]\}$/);
    expect([connect[0].Action].flat()).toEqual(['rds-db:connect']);
    const readable = taskRoleStatements().filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).flatMap((s) => [s.Resource].flat());
    expect(readable).not.toContainEqual(stack.resolve((db.secret as any).secretArn));
    template.hasResourceProperties('Custom::GatehouseStateRole', { AppRole: 'gatehouse_app', Schema: 'gatehouse', Database: 'gatehouse' });
    // Only the administrator has a secret (rotated); the gateway's role has none to read or leak.
    expect(resources('AWS::SecretsManager::Secret').map(([k]) => k).sort()).toEqual([expect.stringMatching(/^GCredentialsSecretanthropic/), expect.stringMatching(/^TestGStateClusterSecret/)]);
    const service = resources('AWS::ECS::Service')[0][1];
    expect(service.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/StateAppRole/)]));
    expect(Stack.of(db).resolve(db.appRole)).toBe('gatehouse_app');
  });

  test('state-database-verified-tls: verify-full against the RDS CAs in the image, for the created database and a bring-your-own one', () => {
    // The rendered URL says sslmode=require (gateway/src/secrets/aws-secrets-manager.ts,
    // postgresUrlFromRdsSecret); state.sslMode raises it, and caCert needs verify-full
    // (gateway/src/state/connection-url.ts). test/constructs/core/image-files.test.ts proves the
    // file is in the image; test/gateway/state/tls-verify.test.ts that the client verifies with it.
    expect(AWS_RDS_CA_PATH).toBe('/app/aws-rds-ca.pem');
    expect(configText()).toMatch(/\?sslmode=verify-full\\n {2}iamAuth: aws-rds\\n {2}awsRegion: eu-west-1\\n {2}caCert: file:\/app\/aws-rds-ca.pem\\n/);
    const byo = (caCert?: string, serverName?: string) => {
      const st = newStack();
      new Gatehouse(st, 'G', { certificate: testCertificate(st), imageDirectory: IMAGE_FIXTURE, existingDatabase: { secret: new secretsmanager.Secret(st, 'Db'), ...(caCert ? { caCert } : {}), ...(serverName ? { serverName } : {}) } });
      const t = Template.fromStack(st);
      return JSON.stringify(st.resolve(Object.values(t.findResources('AWS::SSM::Parameter'))[0]!.Properties.Value));
    };
    expect(byo()).toMatch(/sslMode: verify-full\\n {2}caCert: file:\/app\/aws-rds-ca.pem/);
    expect(byo('file:/etc/my-ca.pem')).toMatch(/sslMode: verify-full\\n {2}caCert: file:\/etc\/my-ca.pem/);
    // existingDatabase.serverName (the shared prop): a certificate that names another host than the secret's.
    expect(byo('file:/etc/my-ca.pem', 'db.internal.example')).toMatch(/caCert: file:\/etc\/my-ca.pem\\n {2}serverName: db.internal.example/);
    expect(() => byo('/etc/my-ca.pem')).toThrow(/existingDatabase.caCert must be a secret reference such as "file:\/path" or "aws-sm:<arn>", got "\/etc\/my-ca.pem"/);
  });
});
