import { connectionSpecProblems } from '../connection-specs';
import type { GatehouseConnection, GatehouseIssuer } from '../../constructs/gcp/gatehouse';
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
}

/** Shown in cdktf.json until the operator sets real values. */
export const PLACEHOLDER_PROJECT = 'my-gatehouse-project';

const KEYS = [
  'stackName', 'project', 'region', 'image', 'recordBucketName', 'issuers', 'connections', 'recordRetentionDays',
  'replicas', 'size', 'tcpProtocols', 'clientCidrs', 'busyPollMicroseconds', 'alarmEmail', 'sshHostKey', 'tcpTls', 'serveGateway', 'customerManagedKeys',
] as const;
const ISSUER_KEYS = ['name', 'issuer', 'audiences', 'options', 'federation'];
const CONNECTION_KEYS = ['name', 'spec', 'secret'];

export function readGcpSettings(raw: unknown): GcpSettings {
  const problems: string[] = [];
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) problems.push('gatehouse:gcp: expected an object');
  const unknownKeys = (where: string, value: unknown, known: readonly string[]) => {
    if (typeof value !== 'object' || value === null) return;
    for (const key of Object.keys(value)) if (!known.includes(key)) problems.push(`${where}.${key}: unknown key (known: ${known.join(', ')})`);
  };
  unknownKeys('gatehouse:gcp', raw, KEYS);
  const str = (key: string, fallback?: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === '') return fallback;
    if (typeof v !== 'string') problems.push(`gatehouse:gcp.${key}: expected a string, got ${typeof v}`);
    return typeof v === 'string' ? v : fallback;
  };
  const arr = <T>(key: string): T[] => {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) problems.push(`gatehouse:gcp.${key}: expected an array`);
    return Array.isArray(v) ? (v as T[]) : [];
  };
  const issuers = arr<GatehouseIssuer>('issuers');
  issuers.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) problems.push(`gatehouse:gcp.issuers[${n}]: needs name, issuer and audiences`);
    unknownKeys(`gatehouse:gcp.issuers[${n}]`, i, ISSUER_KEYS);
    if (i?.federation !== undefined && !Array.isArray(i.federation?.subjects)) problems.push(`gatehouse:gcp.issuers[${n}].federation: needs subjects (exact token subjects)`);
  });
  const connections = arr<GatehouseConnection>('connections');
  connections.forEach((c, n) => {
    unknownKeys(`gatehouse:gcp.connections[${n}]`, c, CONNECTION_KEYS);
    if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) {
      problems.push(`gatehouse:gcp.connections[${n}]: needs name and spec`);
      return;
    }
    problems.push(...connectionSpecProblems(c, 'gcp-sm:projects/checked-at-synth/secrets/s/versions/latest').map((p) => `gatehouse:gcp.connections[${n}].spec: ${p}`));
  });
  const retention = o.recordRetentionDays ?? 365;
  if (typeof retention !== 'number') problems.push('gatehouse:gcp.recordRetentionDays: expected a number');
  const replicas = (o.replicas ?? { min: 1, max: 10 }) as { min?: unknown; max?: unknown };
  if (typeof replicas.min !== 'number' || typeof replicas.max !== 'number') problems.push('gatehouse:gcp.replicas: expected {"min": number, "max": number}');
  const size = o.size as { cpu?: unknown; memoryMiB?: unknown } | undefined;
  if (size !== undefined && (typeof size?.cpu !== 'number' || typeof size?.memoryMiB !== 'number')) problems.push('gatehouse:gcp.size: expected {"cpu": vCPU, "memoryMiB": number}');
  const project = str('project', PLACEHOLDER_PROJECT)!;
  const region = str('region', 'europe-west1')!;
  const tcpProtocols = arr<GatewayTcpProtocol>('tcpProtocols');
  tcpProtocols.forEach((p) => {
    if (!['postgres', 'mysql', 'ssh'].includes(p)) problems.push(`gatehouse:gcp.tcpProtocols: unknown protocol "${String(p)}"`);
  });
  const clientCidrs = o.clientCidrs === undefined ? undefined : arr<string>('clientCidrs');
  const busyPoll = o.busyPollMicroseconds;
  if (busyPoll !== undefined && typeof busyPoll !== 'number') problems.push('gatehouse:gcp.busyPollMicroseconds: expected a number');
  const cmk = o.customerManagedKeys;
  if (cmk !== undefined && typeof cmk !== 'boolean') problems.push('gatehouse:gcp.customerManagedKeys: expected true or false');
  const serve = o.serveGateway ?? true;
  if (typeof serve !== 'boolean') problems.push('gatehouse:gcp.serveGateway: expected true or false');

  const settings: GcpSettings = {
    stackName: str('stackName', 'gatehouse-gcp')!,
    project,
    region,
    image: str('image', `${region}-docker.pkg.dev/${project}/gatehouse/gateway:0.1.0`)!,
    recordBucketName: str('recordBucketName', `${project}-gatehouse-records`)!,
    issuers,
    connections,
    recordRetentionDays: typeof retention === 'number' ? retention : 365,
    replicas: { min: Number(replicas.min), max: Number(replicas.max) },
    ...(size ? { size: size as GatewaySize } : {}),
    tcpProtocols,
    clientCidrs,
    busyPollMicroseconds: typeof busyPoll === 'number' ? busyPoll : undefined,
    alarmEmail: str('alarmEmail'),
    sshHostKey: str('sshHostKey'),
    tcpTls: tcpTlsOf(o.tcpTls, problems, 'gatehouse:gcp.tcpTls'),
    serveGateway: serve !== false,
    ...(typeof cmk === 'boolean' ? { customerManagedKeys: cmk } : {}),
  };
  if (problems.length > 0) throw new Error(`Invalid Gatehouse Google Cloud settings:\n  ${problems.join('\n  ')}`);
  return settings;
}

function tcpTlsOf(value: unknown, problems: string[], where: string): { cert: string; key: string } | undefined {
  if (value === undefined) return undefined;
  const v = value as { cert?: unknown; key?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.cert !== 'string' || typeof v.key !== 'string' || Object.keys(v).some((k) => k !== 'cert' && k !== 'key')) {
    problems.push(`${where}: expected {"cert": secret reference, "key": secret reference}`);
    return undefined;
  }
  return { cert: v.cert, key: v.key };
}
