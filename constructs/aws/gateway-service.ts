import { createHash } from 'node:crypto';
import { Duration, IgnoreMode, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { GatewaySize, ReplicaRange } from '../core/gatehouse-props';
import { renderGatewayConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GATEWAY_PORTS, HEALTH_CHECK, READINESS_CHECK, type GatewayListenerName, type GatewayTcpProtocol, tcpListenerConfig, type TcpListenerSecrets } from '../core/gateway-ports';
import { gatewayImageSource, type GatewayImageSource } from './gateway-image-source';
import { secretsManagerArnOf } from './secret-reference';

export interface GatewayServiceProps {
  /** The network. Tasks and the load balancer go into its private subnets with egress. */
  readonly vpc: ec2.IVpc;
  /**
   * An existing ECS cluster in the same VPC.
   * @default a new cluster with Container Insights (enhanced)
   */
  readonly cluster?: ecs.ICluster;
  /** The certificate the load balancer presents on the HTTP and admin listeners. */
  readonly certificate: acm.ICertificate;
  /**
   * A prebuilt gateway image. Mutually exclusive with `imageDirectory`.
   * @default built by `cdk deploy` from `gateway/Dockerfile` under `imageDirectory`
   */
  readonly image?: ecs.ContainerImage;
  /**
   * Repository root holding `gateway/Dockerfile` and `dist/gateway.mjs`; only those two are staged.
   * @default the current working directory when it holds `gateway/Dockerfile` (a Gatehouse
   * checkout), else the installed `@gatehouse/gateway` package (its Dockerfile and `dist/`)
   */
  readonly imageDirectory?: string;
  /**
   * The gateway configuration without `listeners` (the port plan owns those).
   * @default {} (the gateway's own defaults)
   */
  readonly config?: GatewayConfigDocument;
  /**
   * TCP protocols to open beyond HTTP and admin. Enable one only with a gateway version that
   * serves it.
   * @default []
   */
  readonly tcpProtocols?: readonly GatewayTcpProtocol[];
  /**
   * Secret reference to the gateway's SSH host key (`listeners.ssh.hostKey`, an OpenSSH or PEM
   * private key), e.g. `aws-sm:<secret ARN>`; required when `tcpProtocols` holds `ssh`. The task
   * role may read a secret given by ARN (or `aws-sm:${secret.secretArn}`); one given by name is
   * yours to grant.
   * @default none
   */
  readonly sshHostKey?: string;
  /**
   * Secret references to the certificate chain and private key the PostgreSQL (and MySQL)
   * listener presents (`listeners.<p>.tls`): the NLB passes these protocols through, since they
   * negotiate TLS inside the protocol. Required when `tcpProtocols` holds one of them. Read access
   * as for `sshHostKey`.
   * @default none
   */
  readonly tcpTls?: TcpListenerSecrets['tcpTls'];
  /**
   * CIDRs that may reach the load balancer's listeners.
   * @default the VPC's CIDR block, unless `clientSecurityGroups` is given
   */
  readonly clientCidrs?: readonly string[];
  /**
   * AWS only: security groups whose members may reach the load balancer's listeners (beside
   * `clientCidrs`).
   * @default none
   */
  readonly clientSecurityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * Task count bounds for autoscaling (on CPU). At least two, in different zones.
   * @default { min: 2, max: 6 }
   */
  readonly replicas?: ReplicaRange;
  /**
   * One task's size: vCPU (0.25, 0.5, 1, 2, 4, 8 or 16) and MiB, a combination Fargate offers.
   * @default { cpu: 1, memoryMiB: 2048 }
   */
  readonly size?: GatewaySize;
  /**
   * CPU architecture of the image (the built image is built for it too).
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Container log retention, in days (one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90,
   * 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653).
   * @default 365
   */
  readonly logRetentionDays?: number;
  /**
   * Deletion protection of the load balancer (a `cdk destroy` or a replacement then fails until
   * it is turned off).
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Key for the container log group.
   * @default a new KMS key with rotation, usable by CloudWatch Logs in this region
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Bucket for the load balancer's access logs (SSE-S3, as Elastic Load Balancing requires for
   * delivery without extra key policy).
   * @default a new private, TLS-only bucket
   */
  readonly accessLogsBucket?: s3.IBucket;
}

const CONTAINER_NAME = 'gateway';
/** distroless `nonroot`. */
const NONROOT = '65532:65532';

/**
 * The gateway on ECS Fargate: private subnets in at least two zones, no public IPs, one internal
 * Network Load Balancer that carries every listener in the port plan (TLS terminated with the
 * operator's certificate for HTTP and admin; TCP passthrough for protocols that negotiate TLS
 * themselves), health checks on `/readyz`, CPU autoscaling from two tasks, a deployment circuit
 * breaker with rollback, a read-only root filesystem, a non-root user, and encrypted logs.
 *
 * The configuration travels as an SSM parameter injected into `GATEHOUSE_CONFIG_YAML`; its hash
 * is a container label, so a configuration change rolls the tasks.
 */
export class GatewayService extends Construct implements ec2.IConnectable {
  public readonly vpc: ec2.IVpc;
  public readonly cluster: ecs.ICluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly service: ecs.FargateService;
  public readonly loadBalancer: elbv2.NetworkLoadBalancer;
  public readonly listeners: ReadonlyMap<GatewayListenerName, elbv2.NetworkListener>;
  public readonly targetGroups: ReadonlyMap<GatewayListenerName, elbv2.NetworkTargetGroup>;
  public readonly logGroup: logs.LogGroup;
  public readonly configParameter: ssm.StringParameter;
  public readonly scaling: ecs.ScalableTaskCount;
  public readonly connections: ec2.Connections;
  public readonly taskRole: iam.IRole;
  public readonly replicas: ReplicaRange;

  constructor(scope: Construct, id: string, props: GatewayServiceProps) {
    super(scope, id);
    if (props.image && props.imageDirectory) {
      throw new Error('GatewayService: give either image (prebuilt) or imageDirectory (built by cdk deploy), not both');
    }
    if (props.config && 'listeners' in props.config) {
      throw new Error('GatewayService: config.listeners is set by the port plan; remove it from config');
    }
    if (props.cluster && props.cluster.vpc !== props.vpc) {
      throw new Error('GatewayService: cluster belongs to a different VPC than vpc; give the cluster\'s VPC');
    }
    this.replicas = props.replicas ?? { min: 2, max: 6 };
    validateReplicas(this.replicas);
    const size = props.size ?? { cpu: 1, memoryMiB: 2048 };
    const cpuUnits = fargateCpuUnits(size);
    const logRetention = validateLogRetention(props.logRetentionDays ?? 365);
    const tcpProtocols = [...new Set(props.tcpProtocols ?? [])];
    const listenerNames: GatewayListenerName[] = ['http', 'admin', ...tcpProtocols];
    this.vpc = props.vpc;

    this.cluster =
      props.cluster ??
      new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENHANCED });

    const logKey = props.logEncryptionKey ?? this.createLogKey();
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: logKey,
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const configText = renderGatewayConfig({ ...(props.config ?? {}), listeners: listenerConfig(listenerNames, props) });
    this.configParameter = new ssm.StringParameter(this, 'Config', {
      description: 'Gatehouse gateway configuration (YAML; references to secrets, never their values)',
      stringValue: configText,
      tier: ssm.ParameterTier.INTELLIGENT_TIERING,
    });
    // Logical identity of the configuration: tokens resolve to references, so a change of any
    // literal or of which resource is referenced changes the hash, and the task definition.
    const configHash = createHash('sha256')
      .update(JSON.stringify(Stack.of(this).resolve(configText)))
      .digest('hex');

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: cpuUnits,
      memoryLimitMiB: size.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      volumes: [{ name: 'tmp' }],
    });
    this.taskRole = this.taskDefinition.taskRole;
    // The listeners' own secrets (TLS certificate and key, SSH host key): the gateway reads them
    // with its task role at start, so it may read exactly those, named by ARN.
    const listenerSecrets = listenerSecretArns(tcpProtocols, props);
    if (listenerSecrets.length > 0) {
      this.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadListenerSecrets', actions: ['secretsmanager:GetSecretValue'], resources: listenerSecrets }));
    }
    const executionRole = this.taskDefinition.obtainExecutionRole();

    this.container = this.taskDefinition.addContainer(CONTAINER_NAME, {
      image: props.image ?? this.imageFromAsset(gatewayImageSource(props.imageDirectory), props.cpuArchitecture),
      essential: true,
      readonlyRootFilesystem: true,
      user: NONROOT,
      linuxParameters: new ecs.LinuxParameters(this, 'Linux', { initProcessEnabled: true }),
      secrets: { GATEHOUSE_CONFIG_YAML: ecs.Secret.fromSsmParameter(this.configParameter) },
      dockerLabels: { 'dev.gatehouse.config-sha256': configHash },
      portMappings: listenerNames.map((name) => ({
        name,
        containerPort: GATEWAY_PORTS[name].containerPort,
        protocol: ecs.Protocol.TCP,
      })),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'gateway' }),
      // The gateway drains for shutdownGraceSeconds (default 25 s) after SIGTERM. Fargate allows
      // at most 120 s ("For tasks that use the Fargate launch type, the max stop timeout value is
      // 120 seconds": docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, stopTimeout).
      stopTimeout: Duration.seconds(30),
    });
    // The only writable path: a task-scoped ephemeral volume, gone with the task.
    this.container.addMountPoints({ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false });

    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc: this.vpc,
      description: 'Gatehouse gateway tasks: inbound only from the load balancer',
      allowAllOutbound: true,
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: this.replicas.min,
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [serviceSecurityGroup],
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      enableExecuteCommand: false,
      healthCheckGracePeriod: Duration.seconds(60),
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    this.connections = this.service.connections;

    this.scaling = this.service.autoScaleTaskCount({ minCapacity: this.replicas.min, maxCapacity: this.replicas.max });
    this.scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    const lbSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: 'Gatehouse internal load balancer: listeners open to the clients only',
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      crossZoneEnabled: true,
      securityGroups: [lbSecurityGroup],
      deletionProtection: props.deletionProtection ?? true,
    });
    const accessLogs = props.accessLogsBucket ?? this.createAccessLogsBucket();
    this.loadBalancer.logAccessLogs(accessLogs, 'nlb');

    const defaultClients = props.clientCidrs === undefined && props.clientSecurityGroups === undefined;
    const peers: ec2.IPeer[] = [
      ...(defaultClients ? [this.vpc.vpcCidrBlock] : props.clientCidrs ?? []).map((cidr) => ec2.Peer.ipv4(cidr)),
      ...(props.clientSecurityGroups ?? []),
    ];
    if (peers.length === 0) throw new Error('GatewayService: clientCidrs and clientSecurityGroups are both empty; nobody could reach the gateway');
    const listeners = new Map<GatewayListenerName, elbv2.NetworkListener>();
    const targetGroups = new Map<GatewayListenerName, elbv2.NetworkTargetGroup>();
    const certificate = elbv2.ListenerCertificate.fromCertificateManager(props.certificate);
    for (const name of listenerNames) {
      const port = GATEWAY_PORTS[name];
      const tls = port.termination === 'tls';
      const listener = this.loadBalancer.addListener(`Listener-${name}`, {
        port: port.listenerPort,
        protocol: tls ? elbv2.Protocol.TLS : elbv2.Protocol.TCP,
        certificates: tls ? [certificate] : undefined,
        sslPolicy: tls ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
      });
      const targetGroup = listener.addTargets(`Targets-${name}`, {
        port: port.containerPort,
        protocol: elbv2.Protocol.TCP,
        targets: [this.service.loadBalancerTarget({ containerName: CONTAINER_NAME, containerPort: port.containerPort })],
        healthCheck: {
          protocol: elbv2.Protocol.HTTP,
          // Readiness: a task whose state database is not prepared stays out of rotation, and ECS
          // (circuit breaker included) treats it as unhealthy, as it did when such a task exited.
          port: String(READINESS_CHECK.port),
          path: READINESS_CHECK.path,
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 2,
          interval: Duration.seconds(10),
        },
        deregistrationDelay: Duration.seconds(30),
      });
      for (const peer of peers) {
        lbSecurityGroup.addIngressRule(peer, ec2.Port.tcp(port.listenerPort), `Clients to the ${name} listener`);
      }
      lbSecurityGroup.addEgressRule(serviceSecurityGroup, ec2.Port.tcp(port.containerPort), `To gateway ${name}`);
      serviceSecurityGroup.addIngressRule(lbSecurityGroup, ec2.Port.tcp(port.containerPort), `Load balancer to ${name}`);
      if (!tls) {
        Validations.of(listener).acknowledge({
          id: 'NIST.800.53.R5-ELBv2ACMCertificateRequired',
          reason: 'TCP passthrough: PostgreSQL and MySQL negotiate TLS inside the protocol and SSH carries its own encryption, which no load balancer can terminate; the gateway ends them with the tcpTls certificate or the SSH host key.',
        });
      }
      listeners.set(name, listener);
      targetGroups.set(name, targetGroup);
    }
    // Health checks reach the admin port even when admin traffic itself is not forwarded there.
    lbSecurityGroup.addEgressRule(serviceSecurityGroup, ec2.Port.tcp(HEALTH_CHECK.port), 'Health checks');
    serviceSecurityGroup.addIngressRule(lbSecurityGroup, ec2.Port.tcp(HEALTH_CHECK.port), 'Health checks');
    this.listeners = listeners;
    this.targetGroups = targetGroups;

    if (defaultClients) {
      for (const id of ['AwsSolutions-EC23', 'NIST.800.53.R5-EC2RestrictedCommonPorts', 'NIST.800.53.R5-EC2RestrictedSSH']) {
        Validations.of(lbSecurityGroup).acknowledge({
          id,
          reason:
            'Ingress is limited to the VPC CIDR, a token cdk-nag cannot evaluate, on the listener ports of the port plan; the load balancer is internal and has no route from the internet.',
        });
      }
    }
    for (const role of [this.taskRole, executionRole]) {
      Validations.of(role).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason: 'The policy is generated from grants for this one role and attached to it alone; a reusable managed policy could be attached to other principals and widen who holds these permissions.',
      });
    }
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, required to pull the image, does not support resource-level permissions.',
    });
  }

  /** The load balancer's DNS name (clients connect here; point a private DNS record at it). */
  public get dnsName(): string {
    return this.loadBalancer.loadBalancerDnsName;
  }

  private imageFromAsset(source: GatewayImageSource, architecture: ecs.CpuArchitecture | undefined): ecs.ContainerImage {
    const asset = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: source.directory,
      file: source.file,
      ignoreMode: IgnoreMode.GLOB,
      // Stage only the bundle and the Dockerfile: the asset hash then changes only with them.
      exclude: source.exclude,
      platform: architecture === ecs.CpuArchitecture.ARM64 ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
    });
    return ecs.ContainerImage.fromDockerImageAsset(asset);
  }

  private createLogKey(): kms.Key {
    const key = new kms.Key(this, 'LogKey', {
      description: 'Gatehouse gateway container logs',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stack = Stack.of(this);
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsInThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*` },
        },
      }),
    );
    return key;
  }

  private createAccessLogsBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is itself the load balancer access-log destination.',
    });
    return bucket;
  }
}

function listenerConfig(names: readonly GatewayListenerName[], secrets: TcpListenerSecrets): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const port = GATEWAY_PORTS[name];
    if (name === 'http' || name === 'admin') {
      // TLS ends at the load balancer for these; the hop to the task stays inside the VPC,
      // between two security groups that admit only each other.
      out[name] = { address: '0.0.0.0', port: port.containerPort, allowPlaintext: true };
      continue;
    }
    // The NLB listens on another port than the container for some protocols (SSH: 22 for 2222):
    // /.well-known/gatehouse must publish the one clients reach (core/gateway-ports.ts).
    out[name] = tcpListenerConfig(name, secrets, 'GatewayService', { translatesPorts: true });
  }
  return out;
}

/** The Secrets Manager ARNs the TCP listeners' secret references name, once each (a reference by name is left out). */
function listenerSecretArns(protocols: readonly GatewayTcpProtocol[], secrets: TcpListenerSecrets): string[] {
  const refs: (string | undefined)[] = [];
  if (protocols.includes('ssh')) refs.push(secrets.sshHostKey);
  if (protocols.includes('postgres') || protocols.includes('mysql')) refs.push(secrets.tcpTls?.cert, secrets.tcpTls?.key);
  const arns = refs.map((r) => (r === undefined ? undefined : secretsManagerArnOf(r))).filter((a): a is string => a !== undefined);
  return [...new Set(arns)];
}

function validateReplicas(count: ReplicaRange): void {
  if (Token.isUnresolved(count.min) || Token.isUnresolved(count.max)) return;
  if (!Number.isInteger(count.min) || !Number.isInteger(count.max) || count.min < 2 || count.max < count.min) {
    throw new Error(`GatewayService: replicas needs integers with 2 <= min <= max (two tasks survive a zone loss), got min ${count.min}, max ${count.max}`);
  }
}

/** Fargate's CPU/memory combinations (docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size). */
const FARGATE_MEMORY_MIB: Readonly<Record<number, (m: number) => boolean>> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  8192: (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  16384: (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

function fargateCpuUnits(size: GatewaySize): number {
  if (Token.isUnresolved(size.cpu) || Token.isUnresolved(size.memoryMiB)) return size.cpu * 1024;
  const units = size.cpu * 1024;
  const fits = FARGATE_MEMORY_MIB[units];
  if (!fits || !fits(size.memoryMiB)) {
    throw new Error(`GatewayService: size { cpu: ${size.cpu}, memoryMiB: ${size.memoryMiB} } is not a Fargate task size; cpu is in vCPU (0.25, 0.5, 1, 2, 4, 8, 16) with a memory that vCPU allows (e.g. { cpu: 1, memoryMiB: 2048 })`);
  }
  return units;
}

/**
 * CloudWatch Logs takes only these retentions ("Possible values are: 1, 3, 5, …, 3653",
 * docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html,
 * retentionInDays); aws-cdk-lib's RetentionDays lists the same plus INFINITE (no policy), which a
 * gateway's logs never get. The test compares this list with the documented one.
 */
function validateLogRetention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number' && v !== logs.RetentionDays.INFINITE);
  if (!allowed.includes(days)) {
    throw new Error(`GatewayService: logRetentionDays must be one of CloudWatch Logs' values (${allowed.join(', ')}), got ${days}`);
  }
  return days as logs.RetentionDays;
}
