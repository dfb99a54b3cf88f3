/**
 * The Google Cloud reference stack's settings: the `gatehouse:gcp` object in cdktf.json's
 * `context` (docs/gcp.md documents each key). Read and checked at once, every problem reported.
 */
export interface GcpSettings {
  readonly stackName: string;
  readonly project: string;
  readonly region: string;
  readonly image: string;
  readonly recordBucketName: string;
  readonly issuers: readonly {
    readonly name: string;
    readonly issuer: string;
    readonly audiences: readonly string[];
    readonly options?: Record<string, unknown>;
    readonly gcpFederation?: { readonly attributeCondition: string; readonly audiences?: readonly string[] };
  }[];
  readonly connections: readonly { readonly name: string; readonly spec: Record<string, unknown>; readonly secretId?: string }[];
  readonly recordRetentionDays: number;
  readonly instances: { readonly min: number; readonly max: number };
  readonly tcpProtocols: readonly ('postgres' | 'mysql' | 'ssh')[];
  readonly clientCidrs?: readonly string[];
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
}

/** Shown in cdktf.json until the operator sets real values. */
export const PLACEHOLDER_PROJECT = 'my-gatehouse-project';

export function readGcpSettings(raw: unknown): GcpSettings {
  const problems: string[] = [];
  const o = (raw ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || raw === null) problems.push('gatehouse:gcp: expected an object');
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
  const issuers = arr<GcpSettings['issuers'][number]>('issuers');
  issuers.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) problems.push(`gatehouse:gcp.issuers[${n}]: needs name, issuer and audiences`);
  });
  const connections = arr<GcpSettings['connections'][number]>('connections');
  connections.forEach((c, n) => {
    if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) problems.push(`gatehouse:gcp.connections[${n}]: needs name and spec`);
  });
  const retention = o.recordRetentionDays ?? 365;
  if (typeof retention !== 'number') problems.push('gatehouse:gcp.recordRetentionDays: expected a number');
  const instances = (o.instances ?? { min: 1, max: 10 }) as { min?: unknown; max?: unknown };
  if (typeof instances.min !== 'number' || typeof instances.max !== 'number') problems.push('gatehouse:gcp.instances: expected {"min": number, "max": number}');
  const project = str('project', PLACEHOLDER_PROJECT)!;
  const tcpProtocols = arr<'postgres' | 'mysql' | 'ssh'>('tcpProtocols');
  tcpProtocols.forEach((p) => {
    if (!['postgres', 'mysql', 'ssh'].includes(p)) problems.push(`gatehouse:gcp.tcpProtocols: unknown protocol "${String(p)}"`);
  });
  const clientCidrs = o.clientCidrs === undefined ? undefined : arr<string>('clientCidrs');
  const busyPoll = o.busyPollMicroseconds;
  if (busyPoll !== undefined && typeof busyPoll !== 'number') problems.push('gatehouse:gcp.busyPollMicroseconds: expected a number');

  const settings: GcpSettings = {
    stackName: str('stackName', 'gatehouse-gcp')!,
    project,
    region: str('region', 'europe-west1')!,
    image: str('image', `europe-docker.pkg.dev/${project}/gatehouse/gateway:0.1.0`)!,
    recordBucketName: str('recordBucketName', `${project}-gatehouse-records`)!,
    issuers,
    connections,
    recordRetentionDays: typeof retention === 'number' ? retention : 365,
    instances: { min: Number(instances.min), max: Number(instances.max) },
    tcpProtocols,
    clientCidrs,
    busyPollMicroseconds: typeof busyPoll === 'number' ? busyPoll : undefined,
  };
  if (problems.length > 0) throw new Error(`Invalid Gatehouse Google Cloud settings:\n  ${problems.join('\n  ')}`);
  return settings;
}
