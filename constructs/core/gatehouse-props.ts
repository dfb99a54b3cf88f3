import type { GatewayConnectionSpec } from './connection-spec';
import type { GatewayConfigDocument } from './gateway-config';
import type { GatewayTcpProtocol } from './gateway-ports';

/**
 * The one vocabulary of the three `Gatehouse` constructs (AWS CDK, Azure and Google Cloud CDKTF).
 * Each cloud's props extend these, as aws-ecs-patterns' base props serve Fargate and EC2: a concept
 * is named once here, and a cloud adds only what exists on that cloud alone.
 *
 * Bring your own or let the kit create: prop `x` shapes the X the kit creates, `existingX` brings
 * your own instead (giving both is an error), and child `x` is the X the kit created (undefined
 * when you brought yours). A prop's type is the cloud's own where the thing is (`ec2.IVpc`, a
 * resource id, a `projects/…` name); its name is the same everywhere.
 *
 * This table lists every prop and public child of the three `Gatehouse` constructs, one name per
 * row; test/constructs/core/vocabulary.test.ts fails when a cloud has a prop or child the table
 * does not list for it, or lacks one it lists (✓ = the cloud has it, — = it does not).
 *
 * | concept | prop | child | aws | azure | gcp |
 * |---|---|---|---|---|---|
 * | callers' issuers; `issuers[].federation` lets an issuer's workloads into the cloud | `issuers` | `federations` | ✓ | ✓ | ✓ |
 * | upstream connections (`connections[].secret` brings your own secret) | `connections` | `credentials` | ✓ | ✓ | ✓ |
 * | the immutable record store | `recordRetentionDays` | `records` | ✓ | ✓ | ✓ |
 * | how many gateway replicas (`{ min, max }`) | `replicas` | | ✓ | ✓ | ✓ |
 * | one replica's size (`cpu` in vCPU, `memoryMiB`) | `size` | | ✓ | ✓ | ✓ |
 * | TCP listeners beside HTTP and admin, and their secrets | `tcpProtocols`, `sshHostKey`, `tcpTls` | | ✓ | ✓ | ✓ |
 * | who may reach the gateway | `clientCidrs` | | ✓ | ✓ | ✓ |
 * | container/platform log retention (Google Cloud refuses it) | `logRetentionDays` | | ✓ | ✓ | ✓ |
 * | alarms, and who hears them | `alarmEmail` | `alarms` | ✓ | ✓ | ✓ |
 * | recording mode, tuning, admin groups (gateway configuration) | `recordingMode`, `busyPollMicroseconds`, `adminGroups` | | ✓ | ✓ | ✓ |
 * | the gateway image (AWS: `ecs.ContainerImage`, default built from `gateway/Dockerfile`; Azure, Google Cloud: an image reference) | `image` | | ✓ | ✓ | ✓ |
 * | the gateway's service (ECS service, Container Apps, Cloud Run) | | `gateway` | ✓ | ✓ | ✓ |
 * | the gateway configuration document the kit renders (references only, never secret values) | | `config` | ✓ | ✓ | ✓ |
 * | the gateway's cloud identity (IAM task role, user-assigned managed identity, service account) | | `gatewayIdentity` | ✓ | ✓ | ✓ |
 * | the network: created (`network: { cidr, … }`, `GatehouseNetworkBase`) or your own (`existingNetwork`) | `network`, `existingNetwork` | `network` | ✓ | ✓ | ✓ |
 * | the state database: created (`database: { backupRetentionDays, … }`, `GatehouseDatabaseBase`) or your own (`existingDatabase: { secret, … }`, `ExistingDatabaseBase`) | `database`, `existingDatabase` | `database` | ✓ | ✓ | ✓ |
 * | the job that creates the gateway's least-privilege database role | | `stateBootstrap` | ✓ | ✓ | ✓ |
 * | the record-signing key, in the cloud's key service (KMS, Key Vault, Cloud KMS) | | `signingKey` | ✓ | ✓ | ✓ |
 * | AWS only: bring your own signing key | `existingSigningKey` | | ✓ | — | — |
 * | the keys the records and the created state database are encrypted with (AWS: always; Azure, Google Cloud: the state key, and on Azure the records key, with `customerManagedKeys`) | | `recordsKey`, `stateKey` | ✓ | ✓ | ✓ |
 * | turn customer-managed keys off (AWS: always on) | `customerManagedKeys` | | — | ✓ | ✓ |
 * | AWS only: TLS certificate, cluster, CPU architecture, deletion protection, internal DNS name, client security groups, a locally built image | `certificate`, `cluster`, `cpuArchitecture`, `deletionProtection`, `domain`, `clientSecurityGroups`, `imageDirectory` | | ✓ | — | — |
 * | AWS only: the VPC in use (created or yours), delivery logs bucket, DNS record, `IConnectable` | | `vpc`, `deliveryLogs`, `dnsRecord`, `connections` | ✓ | — | — |
 * | Azure only: where and who deploys (resource group, tenant, registry, vault, deployer) | `resourceGroup`, `tenantId`, `registry`, `existingVault`, `deployerCidrs`, `deployerPrincipalId` | | — | ✓ | — |
 * | Azure only: Log Analytics, the identity that reads the customer-managed keys, the database administrator identity | | `logs`, `encryptionIdentity`, `bootstrapIdentity` | — | ✓ | — |
 * | Google Cloud only: project, region, record bucket, TCP instances, APIs, whether to serve | `project`, `region`, `recordBucketName`, `recordLocation`, `tcpInstances`, `enableApis`, `serveGateway` | | — | — | ✓ |
 * | Google Cloud only: APIs, key ring, Data Access audit logs, TCP instances, service agents | | `apis`, `keys`, `auditLogs`, `tcp`, `secretsAgent`, `databaseAgent` | — | — | ✓ |
 */

/**
 * An existing PostgreSQL database instead of the one the kit creates (then no server, no bootstrap).
 * `TSecret` is how the cloud names a secret; each cloud may add what it needs (AWS: security group, CA).
 */
export interface ExistingDatabaseBase<TSecret> {
  /**
   * The secret holding how to reach the database (Azure, Google Cloud: its URL `postgresql://...`;
   * AWS: the RDS JSON form); the gateway gets read access to it.
   * Azure and Google Cloud: the gateway refuses a URL to another host without
   * `sslmode=verify-full` (`state.url`, docs/configuration.md#state) and stays not ready until the
   * secret holds one it accepts (AWS raises the rendered URL's mode itself).
   */
  readonly secret: TSecret;
  /**
   * Secret reference to the PEM CA the server certificate chains to (`state.caCert`), when it is
   * not a public one (e.g. Cloud SQL's per-instance CA); the gateway must be able to read it.
   * @default the public roots Node carries
   */
  readonly caCert?: string;
  /**
   * The name the server certificate carries when it is not the URL's host (`state.serverName`,
   * e.g. `<project>:<instance>` for Cloud SQL over a private IP). @default the URL's host
   */
  readonly serverName?: string;
}

/** What every cloud's created state database takes (prop `database`); each cloud adds its sizing. */
export interface GatehouseDatabaseBase {
  /**
   * How long automated backups are kept, in days (AWS 1-35, Azure 7-35, Google Cloud 1-365).
   * @default 7
   */
  readonly backupRetentionDays?: number;
}

/** What every cloud's created network takes (prop `network`); each cloud may add its own. */
export interface GatehouseNetworkBase {
  /**
   * The address range of the network the kit creates (AWS: the VPC; Azure: the VNet, its subnets
   * carved from it; Google Cloud: the gateway subnet).
   * @default AWS '10.0.0.0/16', Azure '10.40.0.0/16', Google Cloud '10.50.0.0/20'
   */
  readonly cidr?: string;
}

/** Federation of an issuer's workloads into the cloud (read access to the record, e.g. for `gatehouse verify`). */
export interface GatehouseFederation {
  /**
   * The exact token subjects admitted (e.g. `repo:org/repo:ref:refs/heads/main`). Never a prefix
   * or a wildcard: a workload outside this list gets nothing.
   */
  readonly subjects: readonly string[];
  /** @default the issuer's own `audiences` */
  readonly audiences?: readonly string[];
}

/** A trusted caller issuer, as in the gateway's `identity.issuers`. */
export interface GatehouseIssuerBase {
  readonly name: string;
  /** An https URL. */
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Any other field of the gateway's issuer configuration (`kind`, `subjectRules`, `groupsClaim`, ...). */
  readonly options?: GatewayConfigDocument;
  /**
   * Also let this issuer's workloads federate into the cloud (AWS IAM role, Entra managed identity,
   * GCP Workload Identity Pool), scoped to exact subjects. It is never the gateway's own identity:
   * a caller holding that would bypass the gateway.
   * @default no federation
   */
  readonly federation?: GatehouseFederation;
}

/**
 * An upstream connection, as in the gateway's `connections`, its credential kept in the cloud's
 * secret store. `TSecret` is how the cloud names an existing secret.
 */
export interface GatehouseConnectionBase<TSecret> {
  readonly name: string;
  /**
   * The connection without `name` and without `credential.secret`
   * (e.g. `{ kind: 'http', upstream, route, credential: { type: 'bearer' } }`), typed from the
   * gateway's own config schema.
   */
  readonly spec: GatewayConnectionSpec;
  /**
   * An existing secret holding the credential (read access is added, never made exclusive).
   * @default a new secret (put the value after the first deploy)
   */
  readonly secret?: TSecret;
}

/** A minimum and maximum count. */
export interface ReplicaRange {
  readonly min: number;
  readonly max: number;
}

/** One gateway replica's size. */
export interface GatewaySize {
  /** vCPU (AWS: 1 = 1024 CPU units). */
  readonly cpu: number;
  readonly memoryMiB: number;
}

/** The props every cloud's `Gatehouse` shares. */
export interface GatehouseBaseProps<TIssuer extends GatehouseIssuerBase, TConnection extends GatehouseConnectionBase<unknown>> {
  /** @default [] */
  readonly issuers?: readonly TIssuer[];
  /** @default [] */
  readonly connections?: readonly TConnection[];
  /**
   * How long every record object stays immutable, in days.
   * @default 365
   */
  readonly recordRetentionDays?: number;
  /** @default each cloud's default (at least 2 where the platform does not restart on its own) */
  readonly replicas?: ReplicaRange;
  /** @default each cloud's default */
  readonly size?: GatewaySize;
  /** TCP protocols to open beside HTTP and admin. @default [] */
  readonly tcpProtocols?: readonly GatewayTcpProtocol[];
  /**
   * Secret reference (in the cloud's form: `aws-sm:…`, `azure-kv:…`, `gcp-sm:…`) to the gateway's
   * SSH host key (`listeners.ssh.hostKey`, an OpenSSH or PEM private key); required when
   * `tcpProtocols` holds `ssh`. AWS grants the task role read access when it is given by ARN;
   * Azure and Google Cloud grant nothing on references you give.
   * @default none
   */
  readonly sshHostKey?: string;
  /**
   * Secret references to the certificate chain and private key the PostgreSQL (and MySQL)
   * listener presents (`listeners.<p>.tls`); required when `tcpProtocols` holds one of them.
   * Read access as for `sshHostKey`.
   * @default none
   */
  readonly tcpTls?: { readonly cert: string; readonly key: string };
  /** CIDRs allowed to reach the gateway. @default the network's own address range */
  readonly clientCidrs?: readonly string[];
  /**
   * Retention of the gateway's container logs, in days. Each cloud limits the values (CloudWatch
   * Logs' list; Log Analytics 30-730) and keeps its own default; Google Cloud refuses the prop.
   * @default AWS 365 (as long as the records' default retention), Azure 90
   */
  readonly logRetentionDays?: number;
  /** An address notified by the alarms. @default alarms without a subscriber */
  readonly alarmEmail?: string;
  /** @default 'strict' */
  readonly recordingMode?: 'strict' | 'buffered';
  /**
   * Busy polling (gateway config `tuning.busyPollMicroseconds`, docs/configuration.md): keep
   * polling this long after each request instead of sleeping, trading CPU for latency.
   * @default off
   */
  readonly busyPollMicroseconds?: number;
  /** @default the gateway's default (`gatehouse-admins`) */
  readonly adminGroups?: readonly string[];
}

/** Validates what the base props say alike on every cloud; unresolved tokens are skipped by the caller. */
/** The `state` fields a bring-your-own database adds beside its URL (only those given). */
export function existingDatabaseTls(db: Pick<ExistingDatabaseBase<unknown>, 'caCert' | 'serverName'> | undefined): { caCert?: string; serverName?: string } {
  return { ...(db?.caCert !== undefined && { caCert: db.caCert }), ...(db?.serverName !== undefined && { serverName: db.serverName }) };
}

export function validateBaseProps(props: GatehouseBaseProps<GatehouseIssuerBase, GatehouseConnectionBase<unknown>>, isUnresolved: (value: unknown) => boolean): void {
  const range = (what: string, r: ReplicaRange | undefined) => {
    if (!r || isUnresolved(r.min) || isUnresolved(r.max)) return;
    if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 0 || r.max < 1 || r.min > r.max) {
      throw new Error(`Gatehouse: ${what} must be whole numbers with 0 <= min <= max and max >= 1, got ${JSON.stringify(r)}`);
    }
  };
  range('replicas', props.replicas);
  const days = props.recordRetentionDays;
  if (days !== undefined && !isUnresolved(days) && (!Number.isInteger(days) || days < 1)) {
    throw new Error(`Gatehouse: recordRetentionDays must be a whole number of days >= 1, got ${days}`);
  }
  for (const issuer of props.issuers ?? []) {
    const subjects = issuer.federation?.subjects;
    if (!subjects) continue;
    if (subjects.length === 0) throw new Error(`Gatehouse: issuer "${issuer.name}" federation needs at least one exact subject`);
    for (const subject of subjects) {
      if (!isUnresolved(subject) && /[*?]/.test(subject)) {
        throw new Error(`Gatehouse: issuer "${issuer.name}" federation subject "${subject}" has a wildcard; give exact subjects`);
      }
    }
  }
}
