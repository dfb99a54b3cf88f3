import { objectSettingsReader } from '../settings-reader';
import type { GatehouseConnection, GatehouseDatabase, GatehouseIssuer, GatehouseNetwork } from '../../constructs/gcp/gatehouse';
import type { GatewayTcpProtocol } from '../../constructs/core/gateway-ports';
import type { GatewaySize, ReplicaRange } from '../../constructs/core/gatehouse-props';

/**
 * The Google Cloud reference stack's settings: the `gatehouse:gcp` object in cdktf.json's
 * `context` (docs/gcp.md documents each key). Read and checked at once, every problem reported;
 * a key this reader does not know is a problem too (a typo would otherwise fall back to a default).
 */
export interface GcpSettings {
  readonly stackName: string;
  readonly project: string;
  readonly region: string;
  readonly image: string;
  readonly recordBucketName: string;
  readonly issuers: readonly GatehouseIssuer[];
  readonly connections: readonly GatehouseConnection[];
  readonly recordRetentionDays: number;
  readonly replicas: ReplicaRange;
  readonly size?: GatewaySize;
  readonly tcpProtocols: readonly GatewayTcpProtocol[];
  readonly clientCidrs?: readonly string[];
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
  readonly alarmEmail?: string;
  /** Secret reference to the gateway's SSH host key; required with tcpProtocols "ssh". */
  readonly sshHostKey?: string;
  /** Secret references `{ cert, key }` for the PostgreSQL/MySQL listeners; required with those tcpProtocols. */
  readonly tcpTls?: { readonly cert: string; readonly key: string };
  /** false for the first deploy (docs/gcp.md, "Deploy"). */
  readonly serveGateway: boolean;
  /** Cloud KMS keys for secrets and Cloud SQL (default true; decide before the first apply). */
  readonly customerManagedKeys?: boolean;
  /** The created VPC (`cidr` of the gateway subnet, `privateServicesPrefixLength`, `cloudNat`). */
  readonly network?: GatehouseNetwork;
  /** The created Cloud SQL instance (`tier`, `backupRetentionDays`). */
  readonly database?: GatehouseDatabase;
  readonly recordingMode?: 'strict' | 'buffered';
  readonly adminGroups?: readonly string[];
}

/** Shown in cdktf.json until the operator sets real values. */
export const PLACEHOLDER_PROJECT = 'my-gatehouse-project';

/** Every key of `gatehouse:gcp`; any other is a typo and fails the synth. */
export const GCP_SETTING_KEYS = [
  'stackName', 'project', 'region', 'image', 'recordBucketName', 'issuers', 'connections', 'recordRetentionDays',
  'replicas', 'size', 'tcpProtocols', 'clientCidrs', 'busyPollMicroseconds', 'alarmEmail', 'sshHostKey', 'tcpTls', 'serveGateway', 'customerManagedKeys',
  'network', 'database', 'recordingMode', 'adminGroups',
] as const;

export function readGcpSettings(raw: unknown): GcpSettings {
  const { reader: r, values } = objectSettingsReader('gatehouse:gcp', raw);
  r.unknownKeys('gatehouse:gcp', values, GCP_SETTING_KEYS);
  const issuers = r.issuers<GatehouseIssuer>('issuers');
  const connections = r.connections<GatehouseConnection>('connections', 'gcp-sm:projects/checked-at-synth/secrets/s/versions/latest');
  const tcpProtocols = r.tcpProtocols('tcpProtocols');
  const recordRetentionDays = r.num('recordRetentionDays', 365);
  const replicas = r.range('replicas', { min: 1, max: 10 });
  const size = r.size('size');
  const project = r.str('project', PLACEHOLDER_PROJECT);
  const region = r.str('region', 'europe-west1');
  const busyPollMicroseconds = r.num('busyPollMicroseconds');
  const customerManagedKeys = r.bool('customerManagedKeys');
  const network = r.get('network') as GcpSettings['network'];
  r.unknownKeys('gatehouse:gcp.network', network, ['cidr', 'privateServicesPrefixLength', 'cloudNat']);
  const database = r.get('database') as GcpSettings['database'];
  r.unknownKeys('gatehouse:gcp.database', database, ['tier', 'backupRetentionDays']);

  const settings: GcpSettings = {
    stackName: r.str('stackName', 'gatehouse-gcp'),
    project,
    region,
    image: r.str('image', `${region}-docker.pkg.dev/${project}/gatehouse/gateway:0.1.0`),
    recordBucketName: r.str('recordBucketName', `${project}-gatehouse-records`),
    issuers,
    connections,
    recordRetentionDays,
    replicas,
    ...(size ? { size } : {}),
    tcpProtocols,
    clientCidrs: r.list<string>('clientCidrs'),
    busyPollMicroseconds,
    alarmEmail: r.str('alarmEmail'),
    sshHostKey: r.str('sshHostKey'),
    tcpTls: r.tcpTls('tcpTls'),
    serveGateway: r.bool('serveGateway', true),
    ...(customerManagedKeys !== undefined ? { customerManagedKeys } : {}),
    ...(network ? { network } : {}),
    ...(database ? { database } : {}),
    recordingMode: r.oneOf('recordingMode', ['strict', 'buffered'] as const),
    adminGroups: r.list<string>('adminGroups'),
  };
  // A value still naming the placeholder project while `project` is real would deploy to (or look up
  // an image in) someone else's project: the plan would fail far from the cause. Refuse it here.
  if (project !== PLACEHOLDER_PROJECT) {
    for (const key of ['image', 'recordBucketName'] as const) {
      if (settings[key].includes(PLACEHOLDER_PROJECT)) {
        r.problems.push(`gatehouse:gcp.${key}: "${settings[key]}" still names the placeholder project "${PLACEHOLDER_PROJECT}" while project is "${project}"; remove ${key} (its default derives from project) or set it`);
      }
    }
  }
  r.finish('Invalid Gatehouse Google Cloud settings');
  return settings;
}
