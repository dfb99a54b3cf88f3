import { type Duration, Token } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { GatewayAlarms } from './gateway-alarms';
import { connectionConfig, issuerConfig, needsSecret, validateUniqueNames, tuningConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GatewayNetwork } from './gateway-network';
import type { GatewayTcpProtocol } from '../core/gateway-ports';
import { GatewayService } from './gateway-service';
import { ImmutableLogBucket } from './immutable-log-bucket';
import { OidcFederationRole } from './oidc-federation-role';
import { RecordSigningKey } from './record-signing-key';
import { StateDatabase } from './state-database';
import { UpstreamCredentials } from './upstream-credentials';

/** A trusted caller issuer, as in the gateway's `identity.issuers` (plus `awsRole`). */
export interface GatehouseIssuer {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Any other field of the gateway's issuer configuration (`kind`, `subjectRules`, `groupsClaim`, ...). */
  readonly options?: GatewayConfigDocument;
  /**
   * Also create an IAM OIDC provider and a role that this issuer's workloads can assume (with
   * read access to the records and the digest public key, e.g. to run `gatehouse verify`).
   * @default no AWS role
   */
  readonly awsRole?: { readonly subjects: readonly string[]; readonly audiences?: readonly string[] };
}

/** An upstream connection, as in the gateway's `connections`, with its credential kept in Secrets Manager. */
export interface GatehouseConnection {
  readonly name: string;
  /**
   * The connection without `name` and without `credential.secret`
   * (e.g. `{ kind: 'http', upstream, route, credential: { type: 'bearer' } }`).
   */
  readonly spec: GatewayConfigDocument;
  /**
   * An existing secret holding the credential.
   * @default a new secret (put the value after the first deploy)
   */
  readonly secret?: secretsmanager.ISecret;
}

/** An existing PostgreSQL database for the gateway's state. */
export interface ExistingStateDatabase {
  /** Secret in RDS JSON form (`username`, `password`, `host`, `port`, `dbname`). */
  readonly secret: secretsmanager.ISecret;
  /** The database's security group, to admit the gateway on `port`. @default none (admit it yourself) */
  readonly securityGroup?: ec2.ISecurityGroup;
  /** @default 5432 */
  readonly port?: number;
}

export interface GatehouseProps {
  /** Certificate the internal load balancer presents (ACM, in this region). */
  readonly certificate: acm.ICertificate;
  /**
   * An existing VPC with private (egress) and isolated subnets in at least two zones.
   * @default a new GatewayNetwork
   */
  readonly vpc?: ec2.IVpc;
  /** @default [] */
  readonly issuers?: readonly GatehouseIssuer[];
  /** @default [] */
  readonly connections?: readonly GatehouseConnection[];
  /**
   * Object Lock retention of every record.
   * @default Duration.days(365)
   */
  readonly recordRetention?: Duration;
  /**
   * An existing asymmetric signing key (ECC_NIST_P256, SIGN_VERIFY).
   * @default a new key
   */
  readonly signingKey?: kms.IKey;
  /**
   * An existing database. Mutually exclusive with `databaseCapacity`.
   * @default a new StateDatabase (Aurora Serverless v2)
   */
  readonly existingDatabase?: ExistingStateDatabase;
  /** @default StateDatabase's default */
  readonly databaseCapacity?: { readonly min: number; readonly max: number };
  /** @default built from `gateway/Dockerfile` */
  readonly image?: ecs.ContainerImage;
  /** @default the current working directory */
  readonly imageDirectory?: string;
  /** @default [] */
  readonly tcpProtocols?: readonly GatewayTcpProtocol[];
  /** @default the VPC CIDR */
  readonly clientPeers?: readonly ec2.IPeer[];
  /** @default { min: 2, max: 6 } */
  readonly taskCount?: { readonly min: number; readonly max: number };
  /** @default { cpu: 1024, memoryMiB: 2048 } */
  readonly taskSize?: { readonly cpu: number; readonly memoryMiB: number };
  /**
   * Email address subscribed to the alarm topic.
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Recording mode.
   * @default 'strict'
   */
  readonly recordingMode?: 'strict' | 'buffered';
  /**
   * Busy polling (gateway config `tuning.busyPollMicroseconds`, docs/configuration.md): keep
   * polling this long after each request instead of sleeping, trading CPU for latency. Fargate
   * tasks have their vCPUs to themselves, which is where it pays.
   * @default off
   */
  readonly busyPollMicroseconds?: number;
  /** Groups allowed to use the admin API. @default the gateway's default (`gatehouse-admins`) */
  readonly adminGroups?: readonly string[];
}

/**
 * Everything a production Gatehouse needs in one account, composed from the other constructs and
 * wired with least privilege: the task role may append to its record prefix and read it back,
 * sign digests, read its upstream credentials and its database secret, and nothing else.
 */
export class Gatehouse extends Construct {
  public readonly vpc: ec2.IVpc;
  public readonly network?: GatewayNetwork;
  public readonly logBucket: ImmutableLogBucket;
  public readonly signingKey: RecordSigningKey;
  public readonly credentials: UpstreamCredentials;
  public readonly database?: StateDatabase;
  public readonly gateway: GatewayService;
  public readonly alarms: GatewayAlarms;
  public readonly federationRoles: ReadonlyMap<string, OidcFederationRole>;

  constructor(scope: Construct, id: string, props: GatehouseProps) {
    super(scope, id);
    if (props.existingDatabase && props.databaseCapacity) {
      throw new Error('Gatehouse: databaseCapacity applies to a created database; it conflicts with existingDatabase');
    }
    validateUniqueNames('issuer', (props.issuers ?? []).map((i) => i.name));
    validateUniqueNames('connection', (props.connections ?? []).map((c) => c.name));

    this.logBucket = new ImmutableLogBucket(this, 'Records', { retention: props.recordRetention });
    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      this.network = new GatewayNetwork(this, 'Network', { flowLogsBucket: this.logBucket.accessLogsBucket });
      this.vpc = this.network.vpc;
    }
    this.signingKey = new RecordSigningKey(this, 'SigningKey', { key: props.signingKey });

    const connections = props.connections ?? [];
    this.credentials = new UpstreamCredentials(this, 'Credentials', {
      create: connections.filter((c) => !c.secret && needsSecret(c)).map((c) => c.name),
      existing: Object.fromEntries(connections.filter((c) => c.secret).map((c) => [c.name, c.secret!])),
    });

    let stateUrl: string;
    if (props.existingDatabase) {
      stateUrl = `aws-sm:${props.existingDatabase.secret.secretArn}#postgres-url`;
    } else {
      this.database = new StateDatabase(this, 'State', { vpc: this.vpc, capacity: props.databaseCapacity });
      stateUrl = this.database.urlReference;
    }

    const config: GatewayConfigDocument = {
      mode: 'production',
      identity: { issuers: (props.issuers ?? []).map((i) => issuerConfig(i, Token.isUnresolved)) },
      connections: connections.map((c) => connectionConfig(c, () => this.credentials.referenceFor(c.name), `give an existing secret as \`secret\``)),
      recording: {
        mode: props.recordingMode ?? 'strict',
        sink: { type: 's3', bucket: this.logBucket.bucket.bucketName, prefix: this.logBucket.prefix, region: this.logBucket.bucket.stack.region },
        signingKey: this.signingKey.reference,
      },
      state: { url: stateUrl },
      ...(props.adminGroups ? { admin: { groups: [...props.adminGroups] } } : {}),
      ...tuningConfig(props.busyPollMicroseconds),
    };

    this.gateway = new GatewayService(this, 'Gateway', {
      vpc: this.vpc,
      certificate: props.certificate,
      image: props.image,
      imageDirectory: props.imageDirectory,
      config,
      tcpProtocols: props.tcpProtocols,
      clientPeers: props.clientPeers,
      taskCount: props.taskCount,
      taskSize: props.taskSize,
      accessLogsBucket: this.logBucket.accessLogsBucket,
    });

    const taskRole = this.gateway.taskRole;
    this.logBucket.grantAppend(taskRole);
    this.signingKey.grantSign(taskRole);
    this.credentials.grantRead(taskRole);
    if (this.database) {
      this.database.grantConnect(taskRole);
      this.database.allowFrom(this.gateway);
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

    const roles = new Map<string, OidcFederationRole>();
    for (const issuer of props.issuers ?? []) {
      if (!issuer.awsRole) continue;
      const federation = new OidcFederationRole(this, `Federation-${issuer.name}`, {
        issuerUrl: issuer.issuer,
        subjects: issuer.awsRole.subjects,
        audiences: issuer.awsRole.audiences,
      });
      this.logBucket.grantRead(federation.role);
      this.signingKey.grantVerify(federation.role);
      roles.set(issuer.name, federation);
    }
    this.federationRoles = roles;
  }

}


