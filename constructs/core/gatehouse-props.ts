import type { GatewayConnectionSpec } from './connection-spec';
import type { GatewayConfigDocument } from './gateway-config';
import type { GatewayTcpProtocol } from './gateway-ports';

/**
 * The one vocabulary of the three `Gatehouse` constructs (AWS CDK, Azure and Google Cloud CDKTF).
 * Each cloud's props extend these, as aws-ecs-patterns' base props serve Fargate and EC2: a concept
 * is named once here, and a cloud adds only what exists on that cloud alone.
 *
 * | concept                         | prop / child            |
 * |---------------------------------|-------------------------|
 * | callers' issuers                | `issuers`               |
 * | federation into the cloud       | `issuers[].federation` → child `federations` |
 * | upstream connections            | `connections` (+ `secret` to bring your own) |
 * | the immutable record store      | child `records`, retention `recordRetentionDays` |
 * | how many gateway replicas       | `replicas`              |
 * | one replica's size              | `size` (`cpu` in vCPU, `memoryMiB`) |
 * | who may reach the gateway       | `clientCidrs`           |
 * | container/platform log retention| `logRetentionDays`      |
 * | alarm notifications             | `alarmEmail`            |
 * | bring your own state database   | `existingDatabase` (`{ secret, ... }`, `ExistingDatabaseBase`) |
 * | customer-managed keys (Azure, GCP; AWS always) | `customerManagedKeys` |
 */

/**
 * An existing PostgreSQL database instead of the one the kit creates (then no server, no bootstrap).
 * `TSecret` is how the cloud names a secret; each cloud may add what it needs (AWS: security group, CA).
 */
export interface ExistingDatabaseBase<TSecret> {
  /** The secret holding the database's URL (`postgresql://...`); the gateway gets read access to it. */
  readonly secret: TSecret;
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
