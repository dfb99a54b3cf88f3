/**
 * The Azure reference stack's settings: the `gatehouse:azure` object in cdktf.json's `context`
 * (docs/azure.md documents each key). Read and checked at once, every problem reported.
 */
export interface AzureSettings {
  readonly stackName: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** @default from `ARM_SUBSCRIPTION_ID` at deploy time */
  readonly subscriptionId?: string;
  readonly image: string;
  readonly registry?: { readonly server: string; readonly id?: string };
  readonly issuers: readonly {
    readonly name: string;
    readonly issuer: string;
    readonly audiences: readonly string[];
    readonly options?: Record<string, unknown>;
    readonly azureIdentity?: { readonly subjects: readonly string[]; readonly audiences?: readonly string[] };
  }[];
  readonly connections: readonly { readonly name: string; readonly spec: Record<string, unknown> }[];
  readonly recordRetentionDays: number;
  readonly replicas: { readonly min: number; readonly max: number };
  readonly tcpProtocols: readonly ('postgres' | 'mysql' | 'ssh')[];
  readonly clientCidrs?: readonly string[];
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
}

/** Shown in cdktf.json until the operator sets a real image. */
export const PLACEHOLDER_IMAGE = 'gatehouseregistry.azurecr.io/gatehouse:0.1.0';

export function readAzureSettings(raw: unknown): AzureSettings {
  const problems: string[] = [];
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) problems.push('gatehouse:azure: expected an object');
  const str = (key: string, fallback?: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === '') return fallback;
    if (typeof v !== 'string') problems.push(`gatehouse:azure.${key}: expected a string, got ${typeof v}`);
    return typeof v === 'string' ? v : fallback;
  };
  const arr = <T>(key: string): T[] => {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) problems.push(`gatehouse:azure.${key}: expected an array`);
    return Array.isArray(v) ? (v as T[]) : [];
  };
  const issuers = arr<AzureSettings['issuers'][number]>('issuers');
  issuers.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) problems.push(`gatehouse:azure.issuers[${n}]: needs name, issuer and audiences`);
  });
  const connections = arr<AzureSettings['connections'][number]>('connections');
  connections.forEach((c, n) => {
    if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) problems.push(`gatehouse:azure.connections[${n}]: needs name and spec`);
  });
  const tcpProtocols = arr<'postgres' | 'mysql' | 'ssh'>('tcpProtocols');
  tcpProtocols.forEach((p) => {
    if (!['postgres', 'mysql', 'ssh'].includes(p)) problems.push(`gatehouse:azure.tcpProtocols: unknown protocol "${String(p)}"`);
  });
  const retention = o.recordRetentionDays ?? 365;
  if (typeof retention !== 'number') problems.push('gatehouse:azure.recordRetentionDays: expected a number');
  const replicas = (o.replicas ?? { min: 2, max: 6 }) as { min?: unknown; max?: unknown };
  if (typeof replicas.min !== 'number' || typeof replicas.max !== 'number') problems.push('gatehouse:azure.replicas: expected {"min": number, "max": number}');
  const registry = o.registry as AzureSettings['registry'];
  if (registry !== undefined && typeof registry?.server !== 'string') problems.push('gatehouse:azure.registry: expected {"server": string, "id"?: string}');
  const clientCidrs = o.clientCidrs === undefined ? undefined : arr<string>('clientCidrs');
  const busyPoll = o.busyPollMicroseconds;
  if (busyPoll !== undefined && typeof busyPoll !== 'number') problems.push('gatehouse:azure.busyPollMicroseconds: expected a number');

  const settings: AzureSettings = {
    stackName: str('stackName', 'gatehouse-azure')!,
    location: str('location', 'westeurope')!,
    resourceGroupName: str('resourceGroupName', 'gatehouse')!,
    subscriptionId: str('subscriptionId'),
    image: str('image', PLACEHOLDER_IMAGE)!,
    registry,
    issuers,
    connections,
    recordRetentionDays: typeof retention === 'number' ? retention : 365,
    replicas: { min: Number(replicas.min), max: Number(replicas.max) },
    tcpProtocols,
    clientCidrs,
    busyPollMicroseconds: typeof busyPoll === 'number' ? busyPoll : undefined,
  };
  if (problems.length > 0) throw new Error(`Invalid Gatehouse Azure settings:\n  ${problems.join('\n  ')}`);
  return settings;
}
