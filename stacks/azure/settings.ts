import { objectSettingsReader } from '../settings-reader';
import type { GatehouseConnection, GatehouseDatabase, GatehouseIssuer, GatehouseNetwork } from '../../constructs/azure/gatehouse';
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
  /** The created VNet (`cidr`, subnet prefixes, `natGateway`). */
  readonly network?: GatehouseNetwork;
  /** The created database (`skuName`, `storageMb`, `zoneRedundant`, `backupRetentionDays`). */
  readonly database?: GatehouseDatabase;
  readonly recordingMode?: 'strict' | 'buffered';
  readonly adminGroups?: readonly string[];
  readonly customerManagedKeys?: boolean;
  /** Gateway `tuning.busyPollMicroseconds` (docs/configuration.md); off when unset. */
  readonly busyPollMicroseconds?: number;
}

/** Shown in cdktf.json until the operator sets a real image. */
export const PLACEHOLDER_IMAGE = 'gatehouseregistry.azurecr.io/gatehouse:0.1.0';
/** Shown in cdktf.json until the operator sets the deploying machine's address (TEST-NET-3). */
export const PLACEHOLDER_DEPLOYER_CIDR = '203.0.113.7/32';

/** Every key of `gatehouse:azure`; any other is a typo and fails the synth. */
export const AZURE_SETTING_KEYS = [
  'stackName', 'location', 'resourceGroupName', 'subscriptionId', 'image', 'registry', 'deployerCidrs', 'issuers', 'connections',
  'recordRetentionDays', 'replicas', 'size', 'tcpProtocols', 'clientCidrs', 'logRetentionDays', 'alarmEmail', 'sshHostKey', 'tcpTls', 'network', 'database',
  'customerManagedKeys', 'busyPollMicroseconds', 'recordingMode', 'adminGroups',
] as const;

export function readAzureSettings(raw: unknown): AzureSettings {
  const { reader: r, values } = objectSettingsReader('gatehouse:azure', raw);
  r.unknownKeys('gatehouse:azure', values, AZURE_SETTING_KEYS);
  const issuers = r.issuers<GatehouseIssuer>('issuers');
  const connections = r.connections<GatehouseConnection>('connections', 'azure-kv:checked-at-synth/secret');
  const tcpProtocols = r.tcpProtocols('tcpProtocols');
  const recordRetentionDays = r.num('recordRetentionDays', 365);
  const replicas = r.range('replicas', { min: 2, max: 6 });
  const size = r.size('size');
  const registry = r.get('registry') as AzureSettings['registry'];
  if (registry !== undefined && typeof registry?.server !== 'string') r.problems.push('gatehouse:azure.registry: expected {"server": string, "id"?: string}');
  const network = r.get('network') as AzureSettings['network'];
  r.unknownKeys('gatehouse:azure.network', network, ['cidr', 'appsPrefix', 'endpointsPrefix', 'databasePrefix', 'natGateway']);
  const database = r.get('database') as AzureSettings['database'];
  r.unknownKeys('gatehouse:azure.database', database, ['skuName', 'storageMb', 'zoneRedundant', 'backupRetentionDays']);

  const settings: AzureSettings = {
    stackName: r.str('stackName', 'gatehouse-azure'),
    location: r.str('location', 'westeurope'),
    resourceGroupName: r.str('resourceGroupName', 'gatehouse'),
    subscriptionId: r.str('subscriptionId'),
    image: r.str('image', PLACEHOLDER_IMAGE),
    registry,
    deployerCidrs: r.list<string>('deployerCidrs') ?? [],
    issuers,
    connections,
    recordRetentionDays,
    replicas,
    size,
    tcpProtocols,
    clientCidrs: r.list<string>('clientCidrs'),
    logRetentionDays: r.num('logRetentionDays'),
    alarmEmail: r.str('alarmEmail'),
    sshHostKey: r.str('sshHostKey'),
    tcpTls: r.tcpTls('tcpTls'),
    network,
    database,
    customerManagedKeys: r.bool('customerManagedKeys'),
    busyPollMicroseconds: r.num('busyPollMicroseconds'),
    recordingMode: r.oneOf('recordingMode', ['strict', 'buffered'] as const),
    adminGroups: r.list<string>('adminGroups'),
  };
  r.finish('Invalid Gatehouse Azure settings');
  return settings;
}
