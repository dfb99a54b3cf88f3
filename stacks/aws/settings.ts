import { SettingsReader } from '../settings-reader';
import type { GatewayConnectionSpec } from '../../constructs/core/connection-spec';
import type { GatewaySize, ReplicaRange } from '../../constructs/core/gatehouse-props';
import type { GatewayTcpProtocol } from '../../constructs/core/gateway-ports';

/**
 * The reference stack's settings, read from CDK context (`cdk.json`, `cdk.context.json` or
 * `cdk synth -c gatehouse:<key>=<value>`). docs/aws.md documents each key; the names are the
 * constructs' own (constructs/core/gatehouse-props.ts).
 */
export interface ReferenceSettings {
  readonly stackName: string;
  readonly account?: string;
  readonly region?: string;
  /** ARN of the ACM certificate the load balancer presents. */
  readonly certificate: string;
  readonly issuers: readonly IssuerSetting[];
  readonly connections: readonly ConnectionSetting[];
  readonly recordRetentionDays: number;
  readonly replicas: ReplicaRange;
  readonly size: GatewaySize;
  /** The created database: Aurora capacity in ACUs, backup retention in days. */
  readonly database: { readonly capacity: ReplicaRange; readonly backupRetentionDays?: number };
  readonly tcpProtocols: readonly GatewayTcpProtocol[];
  /** Secret reference to the gateway's SSH host key; required with tcpProtocols "ssh". */
  readonly sshHostKey?: string;
  /** Secret references `{ cert, key }` for the PostgreSQL/MySQL listeners; required with those tcpProtocols. */
  readonly tcpTls?: { readonly cert: string; readonly key: string };
  readonly clientCidrs?: readonly string[];
  readonly alarmEmail?: string;
  /** A prebuilt image's URI; without it `cdk deploy` builds `gateway/Dockerfile`. */
  readonly image?: string;
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
  readonly logRetentionDays?: number;
  /** The created VPC. */
  readonly network?: { readonly cidr?: string };
  readonly cpuArchitecture: 'X86_64' | 'ARM64';
  readonly deletionProtection: boolean;
  /** An internal DNS name inside a private hosted zone. */
  readonly domain?: { readonly domainName: string; readonly hostedZoneId: string; readonly hostedZoneName: string };
  readonly recordingMode?: 'strict' | 'buffered';
  readonly adminGroups?: readonly string[];
}

export interface IssuerSetting {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly options?: Record<string, unknown>;
  /** `oidcProvider`: the ARN of the account's existing IAM OIDC provider for this issuer, to reuse it. */
  readonly federation?: { readonly subjects: readonly string[]; readonly audiences?: readonly string[]; readonly oidcProvider?: string };
}

export interface ConnectionSetting {
  readonly name: string;
  readonly spec: GatewayConnectionSpec;
  /** ARN of an existing secret; otherwise one is created. */
  readonly secret?: string;
}

/** Shown in cdk.json until the operator sets a real certificate. */
export const PLACEHOLDER_CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000';

/** Every `gatehouse:*` key the reference stack reads; any other is a typo and fails the synth. */
export const SETTING_KEYS = [
  'stackName', 'account', 'region', 'certificate', 'issuers', 'connections', 'recordRetentionDays', 'replicas',
  'size', 'database', 'tcpProtocols', 'sshHostKey', 'tcpTls', 'clientCidrs', 'alarmEmail', 'image', 'busyPollMicroseconds',
  'logRetentionDays', 'network', 'cpuArchitecture', 'deletionProtection', 'domain', 'recordingMode', 'adminGroups',
] as const;

/** Keys renamed when the three kits took one vocabulary: the error names the new one. */
const RENAMED: Readonly<Record<string, string>> = {
  taskCount: 'gatehouse:replicas',
  taskSize: 'gatehouse:size (cpu in vCPU)',
  certificateArn: 'gatehouse:certificate',
  imageUri: 'gatehouse:image',
  vpcCidr: 'gatehouse:network ({"cidr": ...})',
  databaseCapacity: 'gatehouse:database ({"capacity": {"min", "max"}})',
  domainName: 'gatehouse:domain ({"domainName", "hostedZoneId", "hostedZoneName"})',
  hostedZoneId: 'gatehouse:domain ({"domainName", "hostedZoneId", "hostedZoneName"})',
  hostedZoneName: 'gatehouse:domain ({"domainName", "hostedZoneId", "hostedZoneName"})',
};

/**
 * Reads and checks every setting from the app's whole context (`app.node.getAllContext()`),
 * reporting all problems at once.
 */
export function readSettings(context: Readonly<Record<string, unknown>>): ReferenceSettings {
  const r = new SettingsReader({
    get: (key) => {
      const raw = context[`gatehouse:${key}`];
      // `-c key=value` passes strings; JSON-looking values are parsed.
      if (typeof raw === 'string' && /^\s*[[{]/.test(raw)) {
        try {
          return JSON.parse(raw);
        } catch {
          r.problems.push(`gatehouse:${key}: not valid JSON`);
          return undefined;
        }
      }
      return raw;
    },
    where: (key) => `gatehouse:${key}`,
    fromStrings: true,
  });
  for (const key of Object.keys(context)) {
    if (!key.startsWith('gatehouse:')) continue;
    const name = key.slice('gatehouse:'.length);
    if ((SETTING_KEYS as readonly string[]).includes(name)) continue;
    r.problems.push(RENAMED[name] ? `${key}: renamed to ${RENAMED[name]}` : `${key}: unknown setting (known: ${SETTING_KEYS.join(', ')})`);
  }

  const issuers = r.issuers<IssuerSetting>('issuers', { federationKeys: ['oidcProvider'], renamed: { awsRole: 'federation', oidcProviderArn: 'oidcProvider' } });
  const connections = r.connections<ConnectionSetting>('connections', 'aws-sm:checked-at-synth', { secretArn: 'secret' });
  const tcpProtocols = r.tcpProtocols('tcpProtocols');
  const network = r.get('network') as { cidr?: unknown } | undefined;
  if (network !== undefined && (typeof network !== 'object' || network === null || (network.cidr !== undefined && typeof network.cidr !== 'string'))) {
    r.problems.push('gatehouse:network: expected {"cidr": string}');
  }
  r.unknownKeys('gatehouse:network', network, ['cidr']);
  const database = r.get('database') as { capacity?: unknown; backupRetentionDays?: unknown } | undefined;
  r.unknownKeys('gatehouse:database', database, ['capacity', 'backupRetentionDays']);
  if (database?.backupRetentionDays !== undefined && typeof database.backupRetentionDays !== 'number') {
    r.problems.push('gatehouse:database.backupRetentionDays: expected a number');
  }
  const domain = r.get('domain') as Record<string, unknown> | undefined;
  if (domain !== undefined && (typeof domain !== 'object' || domain === null || ['domainName', 'hostedZoneId', 'hostedZoneName'].some((k) => typeof domain[k] !== 'string'))) {
    r.problems.push('gatehouse:domain: expected {"domainName", "hostedZoneId", "hostedZoneName"} (a private hosted zone and a name inside it)');
  }
  r.unknownKeys('gatehouse:domain', domain, ['domainName', 'hostedZoneId', 'hostedZoneName']);

  const settings: ReferenceSettings = {
    stackName: r.str('stackName', 'Gatehouse'),
    account: r.str('account'),
    region: r.str('region'),
    certificate: r.str('certificate', PLACEHOLDER_CERTIFICATE_ARN),
    issuers,
    connections,
    recordRetentionDays: r.num('recordRetentionDays', 365),
    replicas: r.range('replicas', { min: 2, max: 6 }),
    size: r.size('size') ?? { cpu: 1, memoryMiB: 2048 },
    database: {
      capacity: r.rangeOf(database?.capacity, 'gatehouse:database.capacity', { min: 0.5, max: 4 })!,
      ...(typeof database?.backupRetentionDays === 'number' ? { backupRetentionDays: database.backupRetentionDays } : {}),
    },
    tcpProtocols,
    sshHostKey: r.str('sshHostKey'),
    tcpTls: r.tcpTls('tcpTls'),
    clientCidrs: r.list<string>('clientCidrs'),
    alarmEmail: r.str('alarmEmail'),
    image: r.str('image'),
    busyPollMicroseconds: r.num('busyPollMicroseconds'),
    logRetentionDays: r.num('logRetentionDays'),
    network: typeof network?.cidr === 'string' ? { cidr: network.cidr } : undefined,
    cpuArchitecture: r.oneOf('cpuArchitecture', ['X86_64', 'ARM64'] as const) ?? 'X86_64',
    deletionProtection: r.bool('deletionProtection', true),
    domain: domain && typeof domain.domainName === 'string' && typeof domain.hostedZoneId === 'string' && typeof domain.hostedZoneName === 'string'
      ? { domainName: domain.domainName, hostedZoneId: domain.hostedZoneId, hostedZoneName: domain.hostedZoneName }
      : undefined,
    recordingMode: r.oneOf('recordingMode', ['strict', 'buffered'] as const),
    adminGroups: r.list<string>('adminGroups'),
  };
  if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(settings.certificate)) {
    r.problems.push(`gatehouse:certificate: expected an ACM certificate ARN, got "${settings.certificate}"`);
  }
  r.finish('Invalid Gatehouse context');
  return settings;
}
