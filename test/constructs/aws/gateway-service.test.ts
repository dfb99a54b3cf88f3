import { readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { GatewayService, type GatewayServiceProps } from '../../../constructs/aws/gateway-service';
import { IMAGE_FIXTURE, newApp, newStack, testCertificate, testVpc } from './helpers';

function build(props: Partial<GatewayServiceProps> = {}) {
  const app = newApp();
  const stack = newStack(app);
  const gateway = new GatewayService(stack, 'Gateway', {
    vpc: testVpc(stack),
    certificate: testCertificate(stack),
    imageDirectory: props.image ? undefined : IMAGE_FIXTURE,
    ...props,
  });
  return { app, stack, gateway, template: Template.fromStack(stack) };
}

function container(template: Template): Record<string, any> {
  const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition')) as any[];
  expect(defs).toHaveLength(1);
  return defs[0].Properties.ContainerDefinitions[0];
}

describe('GatewayService', () => {
  test('runs at least two tasks in private subnets with no public IP, circuit breaker with rollback', () => {
    const { template, stack } = build();
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
    const service = Object.values(template.findResources('AWS::ECS::Service'))[0] as any;
    const subnets = stack.resolve(service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets) as { Ref: string }[];
    expect(subnets).toHaveLength(2);
    for (const s of subnets) expect(s.Ref).toMatch(/privateSubnet/);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 6 });
  });

  test('container: read-only root, non-root user, writable /tmp volume, config from SSM, no plain environment', () => {
    const { template } = build();
    const c = container(template);
    expect(c.ReadonlyRootFilesystem).toBe(true);
    expect(c.User).toBe('65532:65532');
    expect(c.MountPoints).toEqual([{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'tmp' }]);
    expect(c.Environment).toBeUndefined();
    expect(c.Secrets).toEqual([{ Name: 'GATEHOUSE_CONFIG_YAML', ValueFrom: expect.anything() }]);
    expect(c.DockerLabels['dev.gatehouse.config-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(c.PortMappings.map((p: any) => p.ContainerPort)).toEqual([8443, 9090]);
  });

  test('logs to a KMS-encrypted log group with retention', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: Match.objectLike({ 'Fn::GetAtt': Match.arrayWith(['Arn']) }),
      RetentionInDays: 365,
    });
    expect(container(template).LogConfiguration.LogDriver).toBe('awslogs');
  });

  test('one internal NLB carries TLS listeners with the given certificate and a modern policy', () => {
    const { template } = build();
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }]),
    });
    for (const port of [443, 9443]) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: port,
        Protocol: 'TLS',
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        Certificates: [{ CertificateArn: Match.stringLikeRegexp('^arn:aws:acm:') }],
      });
    }
  });

  test('every target group health-checks /healthz on the admin port', () => {
    const { template } = build({ tcpProtocols: ['postgres', 'ssh'] });
    const groups = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')) as any[];
    expect(groups.map((g) => g.Properties.Port).sort()).toEqual([2222, 5432, 8443, 9090]);
    for (const g of groups) {
      expect(g.Properties).toMatchObject({ HealthCheckProtocol: 'HTTP', HealthCheckPort: '9090', HealthCheckPath: '/healthz', TargetType: 'ip' });
    }
  });

  test('planned TCP protocols get passthrough listeners and container ports', () => {
    const { template } = build({ tcpProtocols: ['postgres', 'ssh'] });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 5432, Protocol: 'TCP' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 22, Protocol: 'TCP' });
    expect(container(template).PortMappings.map((p: any) => p.ContainerPort)).toEqual([8443, 9090, 5432, 2222]);
  });

  test('tasks accept traffic only from the load balancer security group', () => {
    const { template } = build();
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as any[];
    const toTasks = ingress.filter((r) => JSON.stringify(r.Properties.GroupId).includes('ServiceSecurityGroup'));
    expect(toTasks.length).toBeGreaterThan(0);
    for (const rule of toTasks) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(JSON.stringify(rule.Properties.SourceSecurityGroupId)).toContain('LoadBalancerSecurityGroup');
    }
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')) as any[];
    for (const g of groups) {
      for (const rule of g.Properties.SecurityGroupIngress ?? []) expect(rule.CidrIp).not.toBe('0.0.0.0/0');
    }
  });

  test('the configuration names the listeners on all interfaces; TLS ends at the load balancer', () => {
    const { template, stack } = build({ config: { mode: 'production' } });
    const param = Object.values(template.findResources('AWS::SSM::Parameter'))[0] as any;
    const text = JSON.stringify(stack.resolve(param.Properties.Value));
    expect(text).toContain('mode: production');
    expect(text).toContain('http:\\n    address: 0.0.0.0\\n    port: 8443\\n    allowPlaintext: true');
    expect(text).toContain('admin:\\n    address: 0.0.0.0\\n    port: 9090');
  });

  test('a configuration change changes the task definition (tasks roll)', () => {
    const a = container(build({ config: { logging: { level: 'info' } } }).template);
    const b = container(build({ config: { logging: { level: 'debug' } } }).template);
    expect(a.DockerLabels['dev.gatehouse.config-sha256']).not.toBe(b.DockerLabels['dev.gatehouse.config-sha256']);
  });

  test('the image asset stages only gateway/Dockerfile and dist/', () => {
    const { app } = build();
    const out = app.synth().directory;
    const assetDir = readdirSync(out).find((d) => d.startsWith('asset.') && existsSync(path.join(out, d, 'gateway/Dockerfile')));
    expect(assetDir).toBeDefined();
    const staged = readdirSync(path.join(out, assetDir!)).sort();
    expect(staged).toEqual(['dist', 'gateway']);
    expect(readdirSync(path.join(out, assetDir!, 'gateway'))).toEqual(['Dockerfile']);
    expect(readdirSync(path.join(out, assetDir!, 'dist'))).toEqual(['gateway.mjs']);
  });

  test('a prebuilt image replaces the asset', () => {
    const { template } = build({ image: ecs.ContainerImage.fromRegistry('registry.example/gatehouse:1.0.0') });
    expect(container(template).Image).toBe('registry.example/gatehouse:1.0.0');
  });

  test.each([
    ['image and imageDirectory together', { image: ecs.ContainerImage.fromRegistry('x/y:1'), imageDirectory: IMAGE_FIXTURE }, /either image .* or imageDirectory/],
    ['one task', { replicas: { min: 1, max: 3 } }, /2 <= min <= max/],
    ['max below min', { replicas: { min: 3, max: 2 } }, /2 <= min <= max/],
    ['a size Fargate does not offer', { size: { cpu: 1, memoryMiB: 1024 } }, /not a Fargate task size; cpu is in vCPU/],
    ['CPU units where vCPU is meant', { size: { cpu: 1024, memoryMiB: 2048 } }, /not a Fargate task size/],
    // The list PutRetentionPolicy documents for retentionInDays ("Possible values are: ...",
    // docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
    ['a log retention CloudWatch does not offer', { logRetentionDays: 100 }, "logRetentionDays must be one of CloudWatch Logs' values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), got 100"],
    ['no expiry (CloudWatch has no such retention value)', { logRetentionDays: 9999 }, /logRetentionDays must be one of .*, got 9999/],
    ['no clients at all', { clientCidrs: [] }, /nobody could reach the gateway/],
    ['listeners in config', { config: { listeners: {} } }, /config.listeners is set by the port plan/],
  ])('refuses %s', (_name, props, message) => {
    expect(() => build(props as Partial<GatewayServiceProps>)).toThrow(message);
  });
});
