import { connectionSpecProblems } from '../connection-specs';
import type { GatewayConnectionSpec } from '../../constructs/core/connection-spec';
import type { GatewaySize, ReplicaRange } from '../../constructs/core/gatehouse-props';

/**
 * The reference stack's settings, read from CDK context (`cdk.json`, `cdk.context.json` or
 * `cdk synth -c gatehouse:<key>=<value>`). docs/aws.md documents each key; the names are the
 * constructs' own (constructs/core/gatehouse-props.ts).
 */
export interface ReferenceSettings {
  readonly stackName: string;
  readonly account?: string;
  readonly region?: string;
  readonly certificateArn: string;
  readonly issuers: readonly IssuerSetting[];
  readonly connections: readonly ConnectionSetting[];
  readonly recordRetentionDays: number;
  readonly replicas: ReplicaRange;
  readonly size: GatewaySize;
  readonly databaseCapacity: ReplicaRange;
  readonly tcpProtocols: readonly ('postgres' | 'mysql' | 'ssh')[];
  /** Secret reference to the gateway's SSH host key; required with tcpProtocols "ssh". */
  readonly sshHostKey?: string;
  /** Secret references `{ cert, key }` for the PostgreSQL/MySQL listeners; required with those tcpProtocols. */
  readonly tcpTls?: { readonly cert: string; readonly key: string };
  readonly clientCidrs?: readonly string[];
  readonly alarmEmail?: string;
  readonly imageUri?: string;
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
  readonly logRetentionDays?: number;
  readonly vpcCidr?: string;
  readonly cpuArchitecture: 'X86_64' | 'ARM64';
  readonly deletionProtection: boolean;
  readonly domainName?: string;
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
  readonly recordingMode?: 'strict' | 'buffered';
  readonly adminGroups?: readonly string[];
}

export interface IssuerSetting {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly options?: Record<string, unknown>;
  /** `oidcProviderArn`: reuse the account's existing IAM OIDC provider for this issuer. */
  readonly federation?: { readonly subjects: readonly string[]; readonly audiences?: readonly string[]; readonly oidcProviderArn?: string };
}

export interface ConnectionSetting {
  readonly name: string;
  readonly spec: GatewayConnectionSpec;
  /** ARN of an existing secret; otherwise one is created. */
  readonly secretArn?: string;
}

/** Shown in cdk.json until the operator sets a real certificate. */
export const PLACEHOLDER_CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000';

/** Every `gatehouse:*` key the reference stack reads; any other is a typo and fails the synth. */
export const SETTING_KEYS = [
  'stackName', 'account', 'region', 'certificateArn', 'issuers', 'connections', 'recordRetentionDays', 'replicas',
  'size', 'databaseCapacity', 'tcpProtocols', 'sshHostKey', 'tcpTls', 'clientCidrs', 'alarmEmail', 'imageUri', 'busyPollMicroseconds',
  'logRetentionDays', 'vpcCidr', 'cpuArchitecture', 'deletionProtection', 'domainName', 'hostedZoneId',
  'hostedZoneName', 'recordingMode', 'adminGroups',
] as const;

/** Keys renamed when the three kits took one vocabulary: the error names the new one. */
const RENAMED: Readonly<Record<string, string>> = { taskCount: 'replicas', taskSize: 'size (cpu in vCPU)' };

/**
 * Reads and checks every setting from the app's whole context (`app.node.getAllContext()`),
 * reporting all problems at once.
 */
export function readSettings(context: Readonly<Record<string, unknown>>): ReferenceSettings {
  const problems: string[] = [];
  for (const key of Object.keys(context)) {
    if (!key.startsWith('gatehouse:')) continue;
    const name = key.slice('gatehouse:'.length);
    if ((SETTING_KEYS as readonly string[]).includes(name)) continue;
    problems.push(RENAMED[name] ? `${key}: renamed to gatehouse:${RENAMED[name]}` : `${key}: unknown setting (known: ${SETTING_KEYS.join(', ')})`);
  }
  const get = (key: string): unknown => {
    const raw = context[`gatehouse:${key}`];
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
  const bool = (key: string, fallback: boolean): boolean => {
    const v = get(key);
    if (v === undefined) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    problems.push(`gatehouse:${key}: expected true or false, got ${JSON.stringify(v)}`);
    return fallback;
  };
  const arr = <T>(key: string): T[] | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      problems.push(`gatehouse:${key}: expected a JSON array`);
      return undefined;
    }
    return v as T[];
  };
  const oneOf = <T extends string>(key: string, values: readonly T[]): T | undefined => {
    const v = str(key);
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) problems.push(`gatehouse:${key}: expected one of ${values.join(', ')}, got "${v}"`);
    return v as T;
  };
  const range = (key: string, fallback: ReplicaRange): ReplicaRange => {
    const v = get(key);
    if (v === undefined) return fallback;
    const r = v as { min?: unknown; max?: unknown };
    if (typeof r !== 'object' || typeof r.min !== 'number' || typeof r.max !== 'number') {
      problems.push(`gatehouse:${key}: expected {"min": number, "max": number}`);
      return fallback;
    }
    return { min: r.min, max: r.max };
  };
  const optionalNumber = (key: string): number | undefined => (get(key) === undefined ? undefined : num(key, 0));

  const issuers = arr<IssuerSetting>('issuers') ?? [];
  issuers.forEach((i, n) => {
    if (typeof i?.name !== 'string' || typeof i?.issuer !== 'string' || !Array.isArray(i?.audiences)) {
      problems.push(`gatehouse:issuers[${n}]: needs name, issuer and audiences`);
    }
    if ('awsRole' in (i ?? {})) problems.push(`gatehouse:issuers[${n}].awsRole: renamed to federation`);
    if (i?.federation !== undefined && !Array.isArray(i.federation.subjects)) {
      problems.push(`gatehouse:issuers[${n}].federation: needs subjects (exact token subjects)`);
    }
  });
  const connections = arr<ConnectionSetting>('connections') ?? [];
  connections.forEach((c, n) => {
    if (typeof c?.name !== 'string' || typeof c?.spec !== 'object' || c.spec === null) {
      problems.push(`gatehouse:connections[${n}]: needs name and spec`);
      return;
    }
    problems.push(...connectionSpecProblems(c, 'aws-sm:checked-at-synth').map((p) => `gatehouse:connections[${n}].spec: ${p}`));
  });
  const tcpProtocols = arr<'postgres' | 'mysql' | 'ssh'>('tcpProtocols') ?? [];
  tcpProtocols.forEach((p) => {
    if (!['postgres', 'mysql', 'ssh'].includes(p)) problems.push(`gatehouse:tcpProtocols: unknown protocol "${String(p)}"`);
  });
  const size = get('size') as { cpu?: unknown; memoryMiB?: unknown } | undefined;
  if (size !== undefined && (typeof size.cpu !== 'number' || typeof size.memoryMiB !== 'number')) {
    problems.push('gatehouse:size: expected {"cpu": vCPU, "memoryMiB": number}');
  }
  const domainName = str('domainName');
  const hostedZoneId = str('hostedZoneId');
  const hostedZoneName = str('hostedZoneName');
  if ([domainName, hostedZoneId, hostedZoneName].some((v) => v !== undefined) && [domainName, hostedZoneId, hostedZoneName].some((v) => v === undefined)) {
    problems.push('gatehouse:domainName, gatehouse:hostedZoneId and gatehouse:hostedZoneName go together (a private hosted zone and a name inside it)');
  }

  const settings: ReferenceSettings = {
    stackName: str('stackName', 'Gatehouse')!,
    account: str('account'),
    region: str('region'),
    certificateArn: str('certificateArn', PLACEHOLDER_CERTIFICATE_ARN)!,
    issuers,
    connections,
    recordRetentionDays: num('recordRetentionDays', 365),
    replicas: range('replicas', { min: 2, max: 6 }),
    size: size && typeof size.cpu === 'number' && typeof size.memoryMiB === 'number'
      ? { cpu: size.cpu, memoryMiB: size.memoryMiB }
      : { cpu: 1, memoryMiB: 2048 },
    databaseCapacity: range('databaseCapacity', { min: 0.5, max: 4 }),
    tcpProtocols,
    sshHostKey: str('sshHostKey'),
    tcpTls: tcpTlsOf(get('tcpTls'), problems),
    clientCidrs: arr<string>('clientCidrs'),
    alarmEmail: str('alarmEmail'),
    imageUri: str('imageUri'),
    busyPollMicroseconds: optionalNumber('busyPollMicroseconds'),
    logRetentionDays: optionalNumber('logRetentionDays'),
    vpcCidr: str('vpcCidr'),
    cpuArchitecture: oneOf('cpuArchitecture', ['X86_64', 'ARM64'] as const) ?? 'X86_64',
    deletionProtection: bool('deletionProtection', true),
    domainName,
    hostedZoneId,
    hostedZoneName,
    recordingMode: oneOf('recordingMode', ['strict', 'buffered'] as const),
    adminGroups: arr<string>('adminGroups'),
  };
  if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(settings.certificateArn)) {
    problems.push(`gatehouse:certificateArn: expected an ACM certificate ARN, got "${settings.certificateArn}"`);
  }
  if (problems.length > 0) throw new Error(`Invalid Gatehouse context:\n  ${problems.join('\n  ')}`);
  return settings;
}

function tcpTlsOf(value: unknown, problems: string[]): { cert: string; key: string } | undefined {
  if (value === undefined) return undefined;
  const v = value as { cert?: unknown; key?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.cert !== 'string' || typeof v.key !== 'string' || Object.keys(v).some((k) => k !== 'cert' && k !== 'key')) {
    problems.push('gatehouse:tcpTls: expected {"cert": secret reference, "key": secret reference}');
    return undefined;
  }
  return { cert: v.cert, key: v.key };
}
