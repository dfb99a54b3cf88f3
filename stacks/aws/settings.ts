/**
 * The reference stack's settings, read from CDK context (`cdk.json`, `cdk.context.json` or
 * `cdk synth -c gatehouse:<key>=<value>`). docs/aws.md documents each key.
 */
export interface ReferenceSettings {
  readonly stackName: string;
  readonly account?: string;
  readonly region?: string;
  readonly certificateArn: string;
  readonly issuers: readonly IssuerSetting[];
  readonly connections: readonly ConnectionSetting[];
  readonly recordRetentionDays: number;
  readonly taskCount: { readonly min: number; readonly max: number };
  readonly taskSize: { readonly cpu: number; readonly memoryMiB: number };
  readonly databaseCapacity: { readonly min: number; readonly max: number };
  readonly tcpProtocols: readonly ('postgres' | 'mysql' | 'ssh')[];
  readonly clientCidrs: readonly string[];
  readonly alarmEmail?: string;
  readonly imageUri?: string;
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
}

export interface IssuerSetting {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly options?: Record<string, unknown>;
  readonly awsRole?: { readonly subjects: readonly string[]; readonly audiences?: readonly string[] };
}

export interface ConnectionSetting {
  readonly name: string;
  readonly spec: Record<string, unknown>;
  /** ARN of an existing secret; otherwise one is created. */
  readonly secretArn?: string;
}

/** Shown in cdk.json until the operator sets a real certificate. */
export const PLACEHOLDER_CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000';

type Lookup = (key: string) => unknown;

/** Reads and checks every setting, reporting all problems at once. */
export function readSettings(lookup: Lookup): ReferenceSettings {
  const problems: string[] = [];
  const get = (key: string): unknown => {
    const raw = lookup(`gatehouse:${key}`);
    // `-c key=value` passes strings; JSON-looking values are parsed.
    if (typeof raw === 'string' && /^\s*[[{]/.test(raw)) {
      try {
        return JSON.parse(raw);
      } catch {
        problems.push(`gatehouse:${key}: not valid JSON`);
        return undefined;
      }
    }
    return raw;
  };
  const str = (key: string, fallback?: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v !== 'string') problems.push(`gatehouse:${key}: expected a string, got ${typeof v}`);
    return typeof v === 'string' ? v : fallback;
  };
  const num = (key: string, fallback: number): number => {
    const v = get(key);
    if (v === undefined) return fallback;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      problems.push(`gatehouse:${key}: expected a number, got ${JSON.stringify(v)}`);
      return fallback;
    }
    return n;
  };
  const arr = <T>(key: string): T[] => {
    const v = get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      problems.push(`gatehouse:${key}: expected a JSON array`);
      return [];
    }
    return v as T[];
  };
  const range = (key: string, fallback: { min: number; max: number }) => {
    const v = get(key);
    if (v === undefined) return fallback;
    const r = v as { min?: unknown; max?: unknown };
    if (typeof r !== 'object' || typeof r.min !== 'number' || typeof r.max !== 'number') {
      problems.push(`gatehouse:${key}: expected {"min": number, "max": number}`);
      return fallback;
    }
    return { min: r.min, max: r.max };
  };

  const issuers = arr<IssuerSetting>('issuers');
  issuers.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) {
      problems.push(`gatehouse:issuers[${n}]: needs name, issuer and audiences`);
    }
  });
  const connections = arr<ConnectionSetting>('connections');
  connections.forEach((c, n) => {
    if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) {
      problems.push(`gatehouse:connections[${n}]: needs name and spec`);
    }
  });
  const tcpProtocols = arr<'postgres' | 'mysql' | 'ssh'>('tcpProtocols');
  tcpProtocols.forEach((p) => {
    if (!['postgres', 'mysql', 'ssh'].includes(p)) problems.push(`gatehouse:tcpProtocols: unknown protocol "${String(p)}"`);
  });
  const optionalNumber = (key: string): number | undefined => (get(key) === undefined ? undefined : num(key, 0));
  const size = get('taskSize') as { cpu?: unknown; memoryMiB?: unknown } | undefined;
  if (size !== undefined && (typeof size.cpu !== 'number' || typeof size.memoryMiB !== 'number')) {
    problems.push('gatehouse:taskSize: expected {"cpu": number, "memoryMiB": number}');
  }

  const settings: ReferenceSettings = {
    stackName: str('stackName', 'Gatehouse')!,
    account: str('account'),
    region: str('region'),
    certificateArn: str('certificateArn', PLACEHOLDER_CERTIFICATE_ARN)!,
    issuers,
    connections,
    recordRetentionDays: num('recordRetentionDays', 365),
    taskCount: range('taskCount', { min: 2, max: 6 }),
    taskSize: size && typeof size.cpu === 'number' && typeof size.memoryMiB === 'number'
      ? { cpu: size.cpu, memoryMiB: size.memoryMiB }
      : { cpu: 1024, memoryMiB: 2048 },
    databaseCapacity: range('databaseCapacity', { min: 0.5, max: 4 }),
    tcpProtocols,
    clientCidrs: arr<string>('clientCidrs'),
    alarmEmail: str('alarmEmail'),
    imageUri: str('imageUri'),
    busyPollMicroseconds: optionalNumber('busyPollMicroseconds'),
  };
  if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(settings.certificateArn)) {
    problems.push(`gatehouse:certificateArn: expected an ACM certificate ARN, got "${settings.certificateArn}"`);
  }
  if (problems.length > 0) throw new Error(`Invalid Gatehouse context:\n  ${problems.join('\n  ')}`);
  return settings;
}
