import { Duration, Stack, Token } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53Targets from 'aws-cdk-lib/aws-route53-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import {
  validateBaseProps,
  type ExistingDatabaseBase,
  type GatehouseBaseProps,
  type GatehouseConnectionBase,
  type GatehouseDatabaseBase,
  type GatehouseFederation,
  type GatehouseIssuerBase,
  type GatehouseNetworkBase,
  type ReplicaRange,
} from '../core/gatehouse-props';
import { connectionConfig, issuerConfig, needsSecret, validateUniqueNames, tuningConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { AWS_RDS_CA_PATH } from '../core/image-files';
import { DeliveryLogsBucket } from './delivery-logs-bucket';
import { GatewayAlarms } from './gateway-alarms';
import { GatewayNetwork } from './gateway-network';
import { GatewayService } from './gateway-service';
import { ImmutableLogBucket } from './immutable-log-bucket';
import { OidcFederationRole } from './oidc-federation-role';
import { RecordSigningKey } from './record-signing-key';
import { secretsManagerArnOf } from './secret-reference';
import { StateDatabase } from './state-database';
import type { StateRoleBootstrap } from './state-role-bootstrap';
import { UpstreamCredentials } from './upstream-credentials';

/** Federation into AWS: an IAM OIDC provider and a role pinned to exact subjects. */
export interface GatehouseAwsFederation extends GatehouseFederation {
  /**
   * An existing IAM OIDC provider for this issuer (IAM allows one per issuer URL per account).
   * @default a new provider
   */
  readonly oidcProvider?: iam.IOidcProvider;
}

/** A trusted caller issuer; `federation` creates an IAM role its workloads can assume. */
export interface GatehouseIssuer extends GatehouseIssuerBase {
  /**
   * Also let this issuer's workloads assume an IAM role (read the records and verify digests,
   * e.g. to run `gatehouse verify`), scoped to exact subjects.
   * @default no federation
   */
  readonly federation?: GatehouseAwsFederation;
}

/** An upstream connection; `secret` brings an existing Secrets Manager secret. */
export interface GatehouseConnection extends GatehouseConnectionBase<secretsmanager.ISecret> {}

/** An existing PostgreSQL database for the gateway's state. */
export interface ExistingDatabase extends ExistingDatabaseBase<secretsmanager.ISecret> {
  /**
   * Secret in RDS JSON form (`username`, `password`, `host`, `port`, `dbname`) of a dedicated,
   * least-privileged role (never the administrator's).
   */
  readonly secret: secretsmanager.ISecret;
  /** The database's security group, to admit the gateway on `port`. @default none (admit it yourself) */
  readonly securityGroup?: ec2.ISecurityGroup;
  /** @default 5432 */
  readonly port?: number;
  /**
   * Secret reference (`aws-sm:…`, `file:/path`) to the PEM CA the database's server certificate
   * chains to; the gateway connects with verify-full either way.
   * @default the Amazon RDS CAs in the image (`file:/app/aws-rds-ca.pem`): an RDS or Aurora database
   */
  readonly caCert?: string;
}

/** The state database the kit creates (Aurora PostgreSQL Serverless v2). */
export interface GatehouseDatabase extends GatehouseDatabaseBase {
  /** Capacity range in ACUs (0.5 steps; minimum 0 lets the cluster pause). @default { min: 0.5, max: 4 } */
  readonly capacity?: ReplicaRange;
}

/** The VPC the kit creates (`GatewayNetwork`): subnets are /24 public, /22 private, /24 isolated per zone. */
export interface GatehouseNetwork extends GatehouseNetworkBase {
  /** A /16 to /20. @default '10.0.0.0/16' */
  readonly cidr?: string;
}

/** An internal DNS name for the gateway: an alias record to the load balancer. */
export interface GatehouseDomain {
  /** The name clients use (the certificate's name), inside `hostedZone`. */
  readonly domainName: string;
  /** A Route 53 private hosted zone associated with the VPC. */
  readonly hostedZone: route53.IHostedZone;
}

export interface GatehouseProps extends GatehouseBaseProps<GatehouseIssuer, GatehouseConnection> {
  /** Certificate the internal load balancer presents (ACM, in this region). */
  readonly certificate: acm.ICertificate;
  /**
   * An existing VPC with private (egress) and isolated subnets in at least two zones.
   * Conflicts with `network`.
   * @default a new GatewayNetwork
   */
  readonly existingNetwork?: ec2.IVpc;
  /**
   * The VPC the kit creates. Conflicts with `existingNetwork`.
   * @default a new GatewayNetwork with CIDR '10.0.0.0/16'
   */
  readonly network?: GatehouseNetwork;
  /**
   * An existing ECS cluster in the VPC. Its Container Insights feed the running-replicas alarm;
   * without them that alarm stays in ALARM.
   * @default a new cluster with Container Insights (enhanced)
   */
  readonly cluster?: ecs.ICluster;
  /**
   * CPU architecture of the tasks (and of the image built by `cdk deploy`).
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Deletion protection of the load balancer and the state database.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * An internal DNS name: an alias A record in a private hosted zone to the load balancer.
   * @default no record (clients use the load balancer's DNS name)
   */
  readonly domain?: GatehouseDomain;
  /**
   * AWS only: security groups whose members may reach the gateway, beside `clientCidrs`
   * (e.g. the agents' own security group).
   * @default none
   */
  readonly clientSecurityGroups?: readonly ec2.ISecurityGroup[];
  /**
   * Retention of the gateway's container logs, in days (a CloudWatch Logs value).
   * 365 by default, as long as `recordRetentionDays`' default: the container log says why a record
   * is missing or late (`GH_ERR_RECORDING_*`, refused operations), so it is kept as long as the
   * record it explains.
   * @default 365
   */
  readonly logRetentionDays?: number;
  /**
   * An existing asymmetric signing key (ECC_NIST_P256, SIGN_VERIFY).
   * @default a new key
   */
  readonly existingSigningKey?: kms.IKey;
  /**
   * An existing database. Conflicts with `database`.
   * @default a new StateDatabase (Aurora Serverless v2) with a dedicated gateway role
   */
  readonly existingDatabase?: ExistingDatabase;
  /**
   * The state database the kit creates. Conflicts with `existingDatabase`.
   * @default StateDatabase's defaults (0.5-4 ACUs, 7 days of backups)
   */
  readonly database?: GatehouseDatabase;
  /**
   * The gateway image, prebuilt (e.g. `ecs.ContainerImage.fromRegistry(uri)`). Conflicts with
   * `imageDirectory`.
   * @default built by `cdk deploy` from `gateway/Dockerfile` in `imageDirectory`
   */
  readonly image?: ecs.ContainerImage;
  /**
   * Where `cdk deploy` builds the image from (a Gatehouse checkout holding `gateway/Dockerfile` and `dist/`).
   * @default the current working directory when it holds `gateway/Dockerfile`, else the installed
   * `@gatehouse/gateway` package (its Dockerfile and `dist/`)
   */
  readonly imageDirectory?: string;
}

/**
 * Everything a production Gatehouse needs in one account, composed from the other constructs and
 * wired with least privilege: the task role may append to its record prefix and read it back,
 * sign digests, read its upstream credentials, log in to its state database as its own role
 * (`rds-db:connect` on that one database user), and nothing else.
 *
 * It is `IConnectable` (its `connections` are the gateway tasks': allow them to reach an upstream
 * with `gatehouse.connections.allowTo(db, ec2.Port.tcp(5432))`) and offers `metric*()` helpers.
 */
export class Gatehouse extends Construct implements ec2.IConnectable {
  /** The VPC in use: the created one, or `existingNetwork`. */
  public readonly vpc: ec2.IVpc;
  /** The created network (none with `existingNetwork`). */
  public readonly network?: GatewayNetwork;
  /** The immutable record store. */
  public readonly records: ImmutableLogBucket;
  /** Load balancer access logs and VPC flow logs (SSE-KMS). */
  public readonly deliveryLogs: DeliveryLogsBucket;
  public readonly signingKey: RecordSigningKey;
  /** The KMS key the record bucket is encrypted with. */
  public readonly recordsKey: kms.IKey;
  /** The KMS key the created state database is encrypted with. */
  public readonly stateKey?: kms.IKey;
  public readonly credentials: UpstreamCredentials;
  public readonly database?: StateDatabase;
  /** Creates the gateway's database role (with a created database). */
  public readonly stateBootstrap?: StateRoleBootstrap;
  public readonly gateway: GatewayService;
  /** The gateway's cloud identity: the ECS task role. */
  public readonly gatewayIdentity: iam.IRole;
  public readonly alarms: GatewayAlarms;
  /** Federation roles by issuer name. */
  public readonly federations: ReadonlyMap<string, OidcFederationRole>;
  /** The internal DNS record, when `domain` is given. */
  public readonly dnsRecord?: route53.ARecord;
  /** The gateway tasks' security group(s). */
  public readonly connections: ec2.Connections;
  /** The gateway configuration document (references only, never secret values). */
  public readonly config: GatewayConfigDocument;

  constructor(scope: Construct, id: string, props: GatehouseProps) {
    super(scope, id);
    validateProps(props);
    validateBaseProps(props, Token.isUnresolved);
    const sshConnections = (props.connections ?? []).filter((c) => (c.spec as { kind?: unknown }).kind === 'ssh').map((c) => c.name);
    if (sshConnections.length > 0 && !(props.tcpProtocols ?? []).includes('ssh')) {
      // The gateway refuses an ssh connection without its listener (gateway/src/config/load.ts): it would serve nothing.
      throw new Error(`Gatehouse: ssh connection${sshConnections.length > 1 ? 's' : ''} ${sshConnections.join(', ')} need${sshConnections.length > 1 ? '' : 's'} tcpProtocols to include "ssh" (and sshHostKey)`);
    }
    validateUniqueNames('issuer', (props.issuers ?? []).map((i) => i.name));
    validateUniqueNames('connection', (props.connections ?? []).map((c) => c.name));

    this.records = new ImmutableLogBucket(this, 'Records', { retentionDays: props.recordRetentionDays });
    this.recordsKey = this.records.encryptionKey;
    this.deliveryLogs = new DeliveryLogsBucket(this, 'DeliveryLogs', { serverAccessLogsBucket: this.records.accessLogsBucket });
    if (props.existingNetwork) {
      this.vpc = props.existingNetwork;
    } else {
      this.network = new GatewayNetwork(this, 'Network', { cidr: props.network?.cidr, flowLogsBucket: this.deliveryLogs.bucket });
      this.vpc = this.network.vpc;
    }
    this.signingKey = new RecordSigningKey(this, 'SigningKey', { key: props.existingSigningKey });

    const connections = props.connections ?? [];
    this.credentials = new UpstreamCredentials(this, 'Credentials', {
      create: connections.filter((c) => !c.secret && needsSecret(c)).map((c) => c.name),
      existing: Object.fromEntries(connections.filter((c) => c.secret).map((c) => [c.name, c.secret!])),
    });

    // Either way the gateway verifies the server (verify-full) against the RDS CAs the image
    // carries (state.caCert) before it sends a token or a password.
    let stateConfig: GatewayConfigDocument;
    if (props.existingDatabase) {
      // The URL is rendered from an RDS-style secret with sslmode=require; state.sslMode raises it.
      stateConfig = {
        url: `aws-sm:${props.existingDatabase.secret.secretArn}#postgres-url`,
        sslMode: 'verify-full',
        caCert: stateCaReference(props.existingDatabase.caCert),
        ...(props.existingDatabase.serverName !== undefined && { serverName: props.existingDatabase.serverName }),
      };
    } else {
      this.database = new StateDatabase(this, 'State', {
        vpc: this.vpc,
        capacity: props.database?.capacity,
        backupRetention: props.database?.backupRetentionDays === undefined ? undefined : Duration.days(props.database.backupRetentionDays),
        deletionProtection: props.deletionProtection,
      });
      this.stateBootstrap = this.database.appRoleBootstrap;
      this.stateKey = this.database.encryptionKey;
      // RDS IAM authentication: a token per connection, signed with the task role; no password.
      stateConfig = {
        url: this.database.url,
        iamAuth: 'aws-rds',
        awsRegion: Stack.of(this).region,
        caCert: stateCaReference(undefined),
        schema: this.database.schema,
      };
    }

    const config: GatewayConfigDocument = this.config = {
      mode: 'production',
      identity: { issuers: (props.issuers ?? []).map((i) => issuerConfig(i, Token.isUnresolved)) },
      connections: connections.map((c) => connectionConfig(c, () => this.credentials.referenceFor(c.name), `give an existing secret as \`secret\``)),
      recording: {
        mode: props.recordingMode ?? 'strict',
        sink: { type: 's3', bucket: this.records.bucket.bucketName, prefix: this.records.prefix, region: this.records.bucket.stack.region },
        signingKey: this.signingKey.reference,
      },
      state: stateConfig,
      ...(props.adminGroups ? { admin: { groups: [...props.adminGroups] } } : {}),
      ...tuningConfig(props.busyPollMicroseconds),
    };

    this.gateway = new GatewayService(this, 'Gateway', {
      vpc: this.vpc,
      cluster: props.cluster,
      certificate: props.certificate,
      image: props.image,
      imageDirectory: props.imageDirectory,
      config,
      tcpProtocols: props.tcpProtocols,
      sshHostKey: props.sshHostKey,
      tcpTls: props.tcpTls,
      clientCidrs: props.clientCidrs,
      clientSecurityGroups: props.clientSecurityGroups,
      replicas: props.replicas,
      size: props.size,
      cpuArchitecture: props.cpuArchitecture,
      logRetentionDays: props.logRetentionDays,
      deletionProtection: props.deletionProtection,
      accessLogsBucket: this.deliveryLogs.bucket,
    });
    this.connections = this.gateway.connections;

    const taskRole = this.gatewayIdentity = this.gateway.taskRole;
    this.records.grantAppend(taskRole, { acknowledgePrefixWildcard: true });
    this.signingKey.grantSign(taskRole);
    this.credentials.grantRead(taskRole);
    // An `aws` connection that names a role to assume (`brokered.roleArn`): the gateway calls
    // sts:AssumeRole with its task role, so the task role may assume exactly those roles and no
    // other. The role's trust policy must admit the task role too (name `gatehouse.gateway.taskRole`,
    // or trust its account, whose identity policies then decide).
    // Secret references the specs hold themselves (aws callerCredentials.keys, an SSH private key, a
    // PostgreSQL password): the gateway reads each with its task role, so it may read exactly those.
    const referenced = referencedSecretArns(connections);
    if (referenced.length > 0) {
      taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadConnectionSecrets', actions: ['secretsmanager:GetSecretValue'], resources: referenced }));
    }
    const assumable = assumableRoleArns(connections);
    if (assumable.length > 0) {
      taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'AssumeConnectionRoles', actions: ['sts:AssumeRole'], resources: assumable }));
    }
    if (this.database) {
      this.database.grantConnect(taskRole);
      this.database.allowFrom(this.gateway);
      // The first tasks start once their database role exists (they would only fail to log in before).
      this.gateway.service.node.addDependency(this.database.appRoleBootstrap.resource);
    } else if (props.existingDatabase) {
      props.existingDatabase.secret.grantRead(taskRole);
      if (props.existingDatabase.securityGroup) {
        props.existingDatabase.securityGroup.connections.allowFrom(
          this.gateway,
          ec2.Port.tcp(props.existingDatabase.port ?? 5432),
          'Gatehouse gateway to its state database',
        );
      }
    }

    this.alarms = new GatewayAlarms(this, 'Alarms', { gateway: this.gateway });
    if (props.alarmEmail) this.alarms.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const federations = new Map<string, OidcFederationRole>();
    for (const issuer of props.issuers ?? []) {
      if (!issuer.federation) continue;
      const federation = new OidcFederationRole(this, `Federation-${issuer.name}`, {
        issuerUrl: issuer.issuer,
        subjects: issuer.federation.subjects,
        audiences: issuer.federation.audiences,
        provider: issuer.federation.oidcProvider,
      });
      this.records.grantRead(federation.role, { acknowledgePrefixWildcard: true });
      this.signingKey.grantVerify(federation.role);
      federations.set(issuer.name, federation);
    }
    this.federations = federations;

    if (props.domain) {
      this.dnsRecord = new route53.ARecord(this, 'DnsRecord', {
        zone: props.domain.hostedZone,
        recordName: props.domain.domainName,
        target: route53.RecordTarget.fromAlias(new route53Targets.LoadBalancerTarget(this.gateway.loadBalancer)),
        comment: 'Gatehouse gateway (internal load balancer)',
      });
    }
  }

  /** Records the gateway could not store (each refused the traffic it describes). Sum per minute. */
  public metricRecordingFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alarms.metricRecordingFailures(props);
  }

  /** HTTP responses with a 5xx status. Sum per minute. */
  public metric5xx(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alarms.metric5xx(props);
  }

  /** Percent of HTTP responses that are 5xx. */
  public metric5xxRate(): cloudwatch.MathExpression {
    return this.alarms.metric5xxRate();
  }

  /** Tasks passing the load balancer's readiness (`/readyz`) check. Minimum per minute. */
  public metricHealthyReplicas(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alarms.metricHealthyReplicas(props);
  }

  /** Running tasks of the service (Container Insights). Minimum per minute. */
  public metricRunningReplicas(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.alarms.metricRunningReplicas(props);
  }
}

/** Conflicting or malformed options, refused before anything is built. */
function validateProps(props: GatehouseProps): void {
  if (props.existingDatabase && props.database) {
    throw new Error('Gatehouse: database applies to a created database; it conflicts with existingDatabase (give one or the other)');
  }
  if (props.existingNetwork && props.network) {
    throw new Error('Gatehouse: network applies to a created VPC; it conflicts with existingNetwork (give one or the other)');
  }
  if (props.cluster && !props.existingNetwork) {
    throw new Error('Gatehouse: an existing cluster lives in an existing VPC; give that VPC as existingNetwork too');
  }
  const retention = props.database?.backupRetentionDays;
  if (retention !== undefined && !Token.isUnresolved(retention) && (!Number.isInteger(retention) || retention < 1 || retention > 35)) {
    // Aurora keeps automated backups 1 to 35 days (the cluster's BackupRetentionPeriod).
    throw new Error(`Gatehouse: database.backupRetentionDays must be a whole number between 1 and 35, got ${retention}`);
  }
  if (props.image && props.imageDirectory) {
    throw new Error('Gatehouse: give either image (prebuilt) or imageDirectory (built by cdk deploy), not both');
  }
  if (props.domain) {
    const name = props.domain.domainName;
    if (!Token.isUnresolved(name) && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i.test(name)) {
      throw new Error(`Gatehouse: domain.domainName must be a DNS name such as "gatehouse.internal.example.com", got "${name}"`);
    }
    const zone = props.domain.hostedZone.zoneName;
    if (!Token.isUnresolved(name) && !Token.isUnresolved(zone) && name !== zone && !name.endsWith(`.${zone}`)) {
      throw new Error(`Gatehouse: domain.domainName "${name}" is not inside the hosted zone "${zone}"`);
    }
  }
  for (const issuer of props.issuers ?? []) {
    const provider = issuer.federation?.oidcProvider;
    if (provider && !Token.isUnresolved(provider.oidcProviderIssuer) && !Token.isUnresolved(issuer.issuer)
      && provider.oidcProviderIssuer !== issuer.issuer.replace(/^https:\/\//, '').replace(/\/$/, '')) {
      throw new Error(`Gatehouse: issuer "${issuer.name}" federation.oidcProvider is for "${provider.oidcProviderIssuer}", not "${issuer.issuer}"`);
    }
  }
}

/**
 * The `brokered.roleArn` of every `aws` connection, once each. Checked as the gateway's schema
 * checks it (gateway/src/config/schema.ts, awsConnectionSchema) and, beyond it, with no wildcard:
 * in an IAM policy `*` or `?` would let the task role assume more than the role the connection names.
 */
function assumableRoleArns(connections: readonly GatehouseConnection[]): string[] {
  const arns = new Set<string>();
  for (const c of connections) {
    if (c.spec.kind !== 'aws') continue;
    const roleArn = c.spec.brokered?.roleArn;
    if (roleArn === undefined) continue;
    if (!Token.isUnresolved(roleArn) && (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(roleArn) || /[*?]/.test(roleArn))) {
      throw new Error(`Gatehouse: connection "${c.name}" brokered.roleArn must be one IAM role's ARN (arn:aws:iam::<account>:role/<name>, no wildcard), got "${roleArn}"`);
    }
    arns.add(roleArn);
  }
  return [...arns];
}

/**
 * The Secrets Manager secrets that `aws-sm:<ARN>[#field]` references in the connection specs name,
 * once each (the kit's own connection secrets are granted apart). A reference by name is left out:
 * its ARN ends in a suffix Secrets Manager chose, and granting `name-??????` would reach any secret
 * created under that name later; give the ARN (or `aws-sm:${secret.secretArn}`) instead.
 */
function referencedSecretArns(connections: readonly GatehouseConnection[]): string[] {
  const arns = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      const arn = secretsManagerArnOf(value);
      if (arn !== undefined) arns.add(arn);
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object' && value !== null) {
      Object.values(value).forEach(visit);
    }
  };
  for (const c of connections) visit(c.spec);
  return [...arns];
}

/** `state.caCert`: the one given, or the RDS CAs in the image. */
function stateCaReference(given: string | undefined): string {
  if (given === undefined) return `file:${AWS_RDS_CA_PATH}`;
  if (!Token.isUnresolved(given) && !/^[a-z][a-z0-9-]*:.+/.test(given)) {
    throw new Error(`Gatehouse: existingDatabase.caCert must be a secret reference such as "file:/path" or "aws-sm:<arn>", got "${given}"`);
  }
  return given;
}
