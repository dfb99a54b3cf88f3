import { readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Stack } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { parse } from 'yaml';
import { GatewayService, type GatewayServiceProps } from '../../../constructs/aws/gateway-service';
import { emittedConfigProblems } from '../../../stacks/gateway-config-check';
import { IMAGE_FIXTURE, newApp, newStack, testCertificate, testVpc } from './helpers';

/** A document the gateway accepts apart from listeners (which the construct adds). */
const GATEWAY_DOCUMENT = { mode: 'development', identity: { devIssuer: { enabled: true } } };

function build(props: Partial<GatewayServiceProps> = {}, more?: (stack: Stack) => Partial<GatewayServiceProps>) {
  const app = newApp();
  const stack = newStack(app);
  const gateway = new GatewayService(stack, 'Gateway', {
    vpc: testVpc(stack),
    certificate: testCertificate(stack),
    imageDirectory: props.image ? undefined : IMAGE_FIXTURE,
    ...props,
    ...(more ? more(stack) : {}),
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

  describe('TCP protocols (postgres and ssh)', () => {
    const HOST_KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse-ssh-host-key-AbCdEf';
    let t: ReturnType<typeof build>;
    let tlsCert: secretsmanager.Secret;
    beforeAll(() => {
      t = build({
        tcpProtocols: ['postgres', 'ssh'],
        config: GATEWAY_DOCUMENT,
        sshHostKey: `aws-sm:${HOST_KEY_ARN}`,
      }, (stack) => {
        tlsCert = new secretsmanager.Secret(stack, 'TlsCert');
        return { tcpTls: { cert: `aws-sm:${tlsCert.secretArn}#cert`, key: `aws-sm:${tlsCert.secretArn}#key` } };
      });
    });

    test('get passthrough listeners and container ports', () => {
      t.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 5432, Protocol: 'TCP' });
      t.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 22, Protocol: 'TCP' });
      expect(container(t.template).PortMappings.map((p: any) => p.ContainerPort)).toEqual([8443, 9090, 5432, 2222]);
    });

    // /readyz: a task whose state database is not prepared (it stays up since state-readiness.ts)
    // must get no traffic and count as unhealthy for the circuit breaker, as when it exited at start.
    test('every target group health-checks readiness (/readyz) on the admin port', () => {
      const groups = Object.values(t.template.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')) as any[];
      expect(groups.map((g) => g.Properties.Port).sort()).toEqual([2222, 5432, 8443, 9090]);
      for (const g of groups) {
        expect(g.Properties).toMatchObject({ HealthCheckProtocol: 'HTTP', HealthCheckPort: '9090', HealthCheckPath: '/readyz', TargetType: 'ip' });
      }
    });

    test('the configuration they emit passes the gateway\'s own parser: postgres with tls, ssh with its host key, advertised on port 22', () => {
      const yaml = String((t.gateway.configParameter.node.defaultChild as ssm.CfnParameter).value);
      expect(emittedConfigProblems(yaml)).toEqual([]);
      const listeners = (parse(yaml.replace(/\$\{Token\[[^\]]+\]\}/g, 'cdkvalue')) as { listeners: Record<string, any> }).listeners;
      expect(listeners.postgres).toEqual({ address: '0.0.0.0', port: 5432, tls: { cert: 'aws-sm:cdkvalue#cert', key: 'aws-sm:cdkvalue#key' } });
      expect(listeners.ssh).toEqual({ address: '0.0.0.0', port: 2222, hostKey: `aws-sm:${HOST_KEY_ARN}`, advertise: { port: 22 } });
    });

    test('the task role may read exactly the listener secrets named by ARN', () => {
      const statements = Object.values(t.template.findResources('AWS::IAM::Policy'))
        .flatMap((pol: any) => pol.Properties.PolicyDocument.Statement as any[]);
      const read = statements.find((st) => st.Sid === 'ReadListenerSecrets');
      expect(read).toMatchObject({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue' });
      const certRef = { Ref: t.stack.resolve((tlsCert.node.defaultChild as secretsmanager.CfnSecret).logicalId) };
      expect(read.Resource).toHaveLength(2);
      expect(read.Resource).toEqual(expect.arrayContaining([HOST_KEY_ARN, certRef]));
    });

    test('a TCP protocol without its secrets fails the synth', () => {
      expect(() => build({ tcpProtocols: ['ssh'] })).toThrow(/GatewayService: tcpProtocols "ssh" needs sshHostKey/);
      expect(() => build({ tcpProtocols: ['postgres'] })).toThrow(/GatewayService: tcpProtocols "postgres" needs tcpTls/);
    });
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
