import { connectionSpecProblems } from '../connection-specs';
import type { GatehouseConnection, GatehouseIssuer } from '../../constructs/azure/gatehouse';
import type { GatewaySize, ReplicaRange } from '../../constructs/core/gatehouse-props';
import type { GatewayTcpProtocol } from '../../constructs/core/gateway-ports';

/**
 * The Azure reference stack's settings: the `gatehouse:azure` object in cdktf.json's `context`
 * (docs/azure.md documents each key). Read and checked at once, every problem reported; an
 * unknown key is a problem (a typo must not silently fall back to a default).
 */
export interface AzureSettings {
  readonly stackName: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** @default from `ARM_SUBSCRIPTION_ID` at deploy time */
  readonly subscriptionId?: string;
  readonly image: string;
  readonly registry?: { readonly server: string; readonly id?: string };
  /** Public IPv4 ranges of the machine that runs `cdktf deploy` (the vault admits them). */
  readonly deployerCidrs: readonly string[];
  readonly issuers: readonly GatehouseIssuer[];
  readonly connections: readonly GatehouseConnection[];
  readonly recordRetentionDays: number;
  readonly replicas: ReplicaRange;
  readonly size?: GatewaySize;
  readonly tcpProtocols: readonly GatewayTcpProtocol[];
  readonly clientCidrs?: readonly string[];
  readonly logRetentionDays?: number;
  readonly alarmEmail?: string;
  /** Secret reference to the gateway's SSH host key; required with tcpProtocols "ssh". */
  readonly sshHostKey?: string;
  /** Secret references `{ cert, key }` for the PostgreSQL/MySQL listeners; required with those tcpProtocols. */
  readonly tcpTls?: { readonly cert: string; readonly key: string };
  readonly database?: { readonly skuName?: string; readonly storageMb?: number; readonly zoneRedundant?: boolean };
  readonly customerManagedKeys?: boolean;
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
}

/** Shown in cdktf.json until the operator sets a real image. */
export const PLACEHOLDER_IMAGE = 'gatehouseregistry.azurecr.io/gatehouse:0.1.0';
/** Shown in cdktf.json until the operator sets the deploying machine's address (TEST-NET-3). */
export const PLACEHOLDER_DEPLOYER_CIDR = '203.0.113.7/32';

const KEYS = [
  'stackName', 'location', 'resourceGroupName', 'subscriptionId', 'image', 'registry', 'deployerCidrs', 'issuers', 'connections',
  'recordRetentionDays', 'replicas', 'size', 'tcpProtocols', 'clientCidrs', 'logRetentionDays', 'alarmEmail', 'sshHostKey', 'tcpTls', 'database',
  'customerManagedKeys', 'busyPollMicroseconds',
] as const;
const ISSUER_KEYS = ['name', 'issuer', 'audiences', 'options', 'federation'];
const CONNECTION_KEYS = ['name', 'spec', 'secret'];

export function readAzureSettings(raw: unknown): AzureSettings {
  const problems: string[] = [];
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) problems.push('gatehouse:azure: expected an object');
  const unknown = (where: string, obj: unknown, known: readonly string[]) => {
    if (typeof obj !== 'object' || obj === null) return;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) problems.push(`${where}.${key}: unknown key (known: ${known.join(', ')})`);
    }
  };
  unknown('gatehouse:azure', o, KEYS);
  const str = (key: string, fallback?: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === '') return fallback;
    if (typeof v !== 'string') problems.push(`gatehouse:azure.${key}: expected a string, got ${typeof v}`);
    return typeof v === 'string' ? v : fallback;
  };
  const num = (key: string): number | undefined => {
    const v = o[key];
    if (v !== undefined && typeof v !== 'number') problems.push(`gatehouse:azure.${key}: expected a number`);
    return typeof v === 'number' ? v : undefined;
  };
  const arr = <T>(key: string): T[] => {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) problems.push(`gatehouse:azure.${key}: expected an array`);
    return Array.isArray(v) ? (v as T[]) : [];
  };
  const issuers = arr<GatehouseIssuer>('issuers');
  issuers.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) problems.push(`gatehouse:azure.issuers[${n}]: needs name, issuer and audiences`);
    unknown(`gatehouse:azure.issuers[${n}]`, i, ISSUER_KEYS);
  });
  const connections = arr<GatehouseConnection>('connections');
  connections.forEach((c, n) => {
    unknown(`gatehouse:azure.connections[${n}]`, c, CONNECTION_KEYS);
    if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) {
      problems.push(`gatehouse:azure.connections[${n}]: needs name and spec`);
      return;
    }
    problems.push(...connectionSpecProblems(c, 'azure-kv:checked-at-synth/secret').map((p) => `gatehouse:azure.connections[${n}].spec: ${p}`));
  });
  const tcpProtocols = arr<GatewayTcpProtocol>('tcpProtocols');
  tcpProtocols.forEach((p) => {
    if (!['postgres', 'mysql', 'ssh'].includes(p)) problems.push(`gatehouse:azure.tcpProtocols: unknown protocol "${String(p)}"`);
  });
  const retention = o.recordRetentionDays ?? 365;
  if (typeof retention !== 'number') problems.push('gatehouse:azure.recordRetentionDays: expected a number');
  const replicas = (o.replicas ?? { min: 2, max: 6 }) as { min?: unknown; max?: unknown };
  if (typeof replicas.min !== 'number' || typeof replicas.max !== 'number') problems.push('gatehouse:azure.replicas: expected {"min": number, "max": number}');
  const size = o.size as GatewaySize | undefined;
  if (size !== undefined && (typeof size?.cpu !== 'number' || typeof size?.memoryMiB !== 'number')) problems.push('gatehouse:azure.size: expected {"cpu": number, "memoryMiB": number}');
  const registry = o.registry as AzureSettings['registry'];
  if (registry !== undefined && typeof registry?.server !== 'string') problems.push('gatehouse:azure.registry: expected {"server": string, "id"?: string}');
  const database = o.database as AzureSettings['database'];
  unknown('gatehouse:azure.database', database, ['skuName', 'storageMb', 'zoneRedundant']);
  const cmk = o.customerManagedKeys;
  if (cmk !== undefined && typeof cmk !== 'boolean') problems.push('gatehouse:azure.customerManagedKeys: expected true or false');
  const clientCidrs = o.clientCidrs === undefined ? undefined : arr<string>('clientCidrs');

  const settings: AzureSettings = {
    stackName: str('stackName', 'gatehouse-azure')!,
    location: str('location', 'westeurope')!,
    resourceGroupName: str('resourceGroupName', 'gatehouse')!,
    subscriptionId: str('subscriptionId'),
    image: str('image', PLACEHOLDER_IMAGE)!,
    registry,
    deployerCidrs: arr<string>('deployerCidrs'),
    issuers,
    connections,
    recordRetentionDays: typeof retention === 'number' ? retention : 365,
    replicas: { min: Number(replicas.min), max: Number(replicas.max) },
    size,
    tcpProtocols,
    clientCidrs,
    logRetentionDays: num('logRetentionDays'),
    alarmEmail: str('alarmEmail'),
    sshHostKey: str('sshHostKey'),
    tcpTls: tcpTlsOf(o.tcpTls, problems, 'gatehouse:azure.tcpTls'),
    database,
    customerManagedKeys: typeof cmk === 'boolean' ? cmk : undefined,
    busyPollMicroseconds: num('busyPollMicroseconds'),
  };
  if (problems.length > 0) throw new Error(`Invalid Gatehouse Azure settings:\n  ${problems.join('\n  ')}`);
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
