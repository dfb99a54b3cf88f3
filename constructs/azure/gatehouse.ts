import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { connectionConfig, issuerConfig, needsSecret, validateUniqueNames, tuningConfig, type GatewayConfigDocument } from '../core/gateway-config';
import type { GatewayTcpProtocol } from '../core/gateway-ports';
import { GatewayContainerApps } from './gateway-container-apps';
import { GatewayNetwork } from './gateway-network';
import { RecordStorage } from './record-storage';
import type { ResourceGroupRef } from './resource-group-ref';
import { StateDatabase } from './state-database';
import { UpstreamCredentials, type ExistingKeyVault } from './upstream-credentials';
import { WorkloadIdentity } from './workload-identity';

/** A trusted caller issuer, as in the gateway's `identity.issuers` (plus `azureIdentity`). */
export interface GatehouseIssuer {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Any other field of the gateway's issuer configuration (`kind`, `subjectRules`, ...). */
  readonly options?: GatewayConfigDocument;
  /**
   * Also create a managed identity this issuer's workloads can federate into (exact subjects),
   * with read access to the record (e.g. to run `gatehouse verify`). It is never the gateway's
   * identity: a caller holding that would bypass the gateway.
   * @default no Azure identity
   */
  readonly azureIdentity?: { readonly subjects: readonly string[]; readonly audiences?: readonly string[] };
}

/** An upstream connection, as in the gateway's `connections`; its credential lives in Key Vault. */
export interface GatehouseConnection {
  readonly name: string;
  /** The connection without `name` and without `credential.secret`. */
  readonly spec: GatewayConfigDocument;
}

/** An existing network with the three subnets GatewayNetwork would create. */
export interface ExistingGatewayNetwork {
  readonly virtualNetworkId: string;
  /** Delegated to `Microsoft.App/environments`, /27 or larger. */
  readonly appsSubnetId: string;
  readonly endpointsSubnetId: string;
  /** Delegated to `Microsoft.DBforPostgreSQL/flexibleServers`. */
  readonly databaseSubnetId: string;
  /** CIDRs allowed to reach the gateway by default. */
  readonly clientCidrs: readonly string[];
}

export interface GatehouseProps {
  readonly resourceGroup: ResourceGroupRef;
  /** Entra ID tenant (Key Vault). */
  readonly tenantId: string;
  /** The gateway image (the same image as on AWS and Google Cloud), e.g. `acr.azurecr.io/gatehouse:0.1.0`. */
  readonly image: string;
  /**
   * Registry (ACR) the image is pulled from with the gateway identity: its login server and,
   * to grant AcrPull, its resource id.
   * @default a public image
   */
  readonly registry?: { readonly server: string; readonly id?: string };
  /** @default a new GatewayNetwork */
  readonly network?: ExistingGatewayNetwork;
  /** @default [] */
  readonly issuers?: readonly GatehouseIssuer[];
  /** @default [] */
  readonly connections?: readonly GatehouseConnection[];
  /** @default a new vault */
  readonly existingVault?: ExistingKeyVault;
  /**
   * Immutability of every record blob version, in days.
   * @default 365
   */
  readonly recordRetentionDays?: number;
  /**
   * Administrator password of a created database (a sensitive TerraformVariable). Exactly one of
   * this and `existingDatabaseUrlSecret`.
   */
  readonly databaseAdministratorPassword?: string;
  /**
   * Name of a Key Vault secret holding the URL of an existing PostgreSQL database.
   * @default a new StateDatabase
   */
  readonly existingDatabaseUrlSecret?: string;
  /** @default StateDatabase defaults */
  readonly databaseSize?: { readonly skuName?: string; readonly storageMb?: number; readonly zoneRedundant?: boolean };
  /** @default [] */
  readonly tcpProtocols?: readonly GatewayTcpProtocol[];
  /** @default the VNet's address space */
  readonly clientCidrs?: readonly string[];
  /** @default { min: 2, max: 6 } */
  readonly replicas?: { readonly min: number; readonly max: number };
  /** @default { cpu: 1, memory: '2Gi' } */
  readonly size?: { readonly cpu: number; readonly memory: string };
  /** @default 90 */
  readonly logRetentionDays?: number;
  /** @default 'strict' */
  readonly recordingMode?: 'strict' | 'buffered';
  /**
   * Busy polling (gateway config `tuning.busyPollMicroseconds`, docs/configuration.md): keep
   * polling this long after each request instead of sleeping, trading CPU for latency. Container
   * Apps enforce the CPU limit as a quota, which spinning spends: measure before turning it on.
   * @default off
   */
  readonly busyPollMicroseconds?: number;
  /** @default the gateway's default (`gatehouse-admins`) */
  readonly adminGroups?: readonly string[];
}

/** Key Vault secret names the kit references and the operator fills after the first deploy. */
export const AZURE_SECRET_NAMES = { signingKey: 'gatehouse-signing-key', stateUrl: 'gatehouse-state-url' } as const;

/**
 * Everything a production Gatehouse needs in one Azure resource group, wired with least privilege:
 * the gateway's managed identity may append to the record container and read it back, read its
 * Key Vault secrets, and nothing else.
 */
export class Gatehouse extends Construct {
  public readonly network?: GatewayNetwork;
  public readonly logs: LogAnalyticsWorkspace;
  public readonly identity: WorkloadIdentity;
  public readonly records: RecordStorage;
  public readonly credentials: UpstreamCredentials;
  public readonly database?: StateDatabase;
  public readonly gateway: GatewayContainerApps;
  public readonly federatedIdentities: ReadonlyMap<string, WorkloadIdentity>;

  constructor(scope: Construct, id: string, props: GatehouseProps) {
    super(scope, id);
    if ((props.databaseAdministratorPassword === undefined) === (props.existingDatabaseUrlSecret === undefined)) {
      throw new Error('Gatehouse: give exactly one of databaseAdministratorPassword (new database) and existingDatabaseUrlSecret (existing database)');
    }
    if (props.existingDatabaseUrlSecret && props.databaseSize) {
      throw new Error('Gatehouse: databaseSize applies to a created database; it conflicts with existingDatabaseUrlSecret');
    }
    validateUniqueNames('issuer', (props.issuers ?? []).map((i) => i.name));
    validateUniqueNames('connection', (props.connections ?? []).map((c) => c.name));
    const rg = props.resourceGroup;

    let net: ExistingGatewayNetwork;
    if (props.network) {
      net = props.network;
    } else {
      this.network = new GatewayNetwork(this, 'Network', { resourceGroup: rg });
      net = {
        virtualNetworkId: this.network.virtualNetwork.id,
        appsSubnetId: this.network.appsSubnet.id,
        endpointsSubnetId: this.network.endpointsSubnet.id,
        databaseSubnetId: this.network.databaseSubnet.id,
        clientCidrs: [this.network.addressSpace],
      };
    }

    const logRetention = props.logRetentionDays ?? 90;
    if (!Token.isUnresolved(logRetention) && (!Number.isInteger(logRetention) || logRetention < 30 || logRetention > 730)) {
      throw new Error(`Gatehouse: logRetentionDays must be a whole number between 30 and 730, got ${logRetention}`);
    }
    this.logs = new LogAnalyticsWorkspace(this, 'Logs', {
      name: 'gatehouse-logs',
      resourceGroupName: rg.name,
      location: rg.location,
      sku: 'PerGB2018',
      retentionInDays: logRetention,
      localAuthenticationEnabled: false,
    });

    this.identity = new WorkloadIdentity(this, 'Identity', { resourceGroup: rg, name: 'gatehouse-gateway' });

    this.records = new RecordStorage(this, 'Records', {
      resourceGroup: rg,
      retentionDays: props.recordRetentionDays,
      endpointSubnetId: net.endpointsSubnetId,
      virtualNetworkId: net.virtualNetworkId,
    });

    const connections = props.connections ?? [];
    this.credentials = new UpstreamCredentials(this, 'Credentials', {
      resourceGroup: rg,
      tenantId: props.tenantId,
      connections: connections.filter(needsSecret).map((c) => c.name),
      existingVault: props.existingVault,
      endpointSubnetId: props.existingVault ? undefined : net.endpointsSubnetId,
      virtualNetworkId: props.existingVault ? undefined : net.virtualNetworkId,
    });

    if (props.databaseAdministratorPassword !== undefined) {
      this.database = new StateDatabase(this, 'State', {
        resourceGroup: rg,
        delegatedSubnetId: net.databaseSubnetId,
        virtualNetworkId: net.virtualNetworkId,
        administratorPassword: props.databaseAdministratorPassword,
        ...(props.databaseSize ?? {}),
      });
    }
    const stateUrl = this.credentials.reference(props.existingDatabaseUrlSecret ?? AZURE_SECRET_NAMES.stateUrl);

    const config: GatewayConfigDocument = {
      mode: 'production',
      identity: { issuers: (props.issuers ?? []).map((i) => issuerConfig(i, Token.isUnresolved)) },
      connections: connections.map((c) => connectionConfig(c, () => this.credentials.referenceFor(c.name), `Key Vault secret gatehouse-${c.name}`)),
      recording: {
        mode: props.recordingMode ?? 'strict',
        sink: {
          type: 'azure-blob',
          endpoint: this.records.blobEndpoint,
          container: this.records.container.name,
          prefix: this.records.prefix,
        },
        signingKey: this.credentials.reference(AZURE_SECRET_NAMES.signingKey),
      },
      state: { url: stateUrl },
      ...(props.adminGroups ? { admin: { groups: [...props.adminGroups] } } : {}),
      ...tuningConfig(props.busyPollMicroseconds),
    };

    this.gateway = new GatewayContainerApps(this, 'Gateway', {
      resourceGroup: rg,
      image: props.image,
      identity: { id: this.identity.identity.id, clientId: this.identity.clientId },
      registryServer: props.registry?.server,
      infrastructureSubnetId: net.appsSubnetId,
      logAnalyticsWorkspaceId: this.logs.id,
      virtualNetworkId: net.virtualNetworkId,
      clientCidrs: props.clientCidrs ?? net.clientCidrs,
      config,
      tcpProtocols: props.tcpProtocols,
      replicas: props.replicas,
      size: props.size,
    });

    const gatewayPrincipal = this.identity.principalId;
    this.records.addAccess(gatewayPrincipal, 'append');
    this.credentials.addAccess(gatewayPrincipal);
    if (props.registry?.id) {
      new RoleAssignment(this, 'AcrPull', {
        scope: props.registry.id,
        roleDefinitionName: 'AcrPull',
        principalId: gatewayPrincipal,
        principalType: 'ServicePrincipal',
        description: 'Gatehouse gateway pulls its image',
      });
    }

    const federated = new Map<string, WorkloadIdentity>();
    for (const issuer of props.issuers ?? []) {
      if (!issuer.azureIdentity) continue;
      const identity = new WorkloadIdentity(this, `Federation-${issuer.name}`, {
        resourceGroup: rg,
        name: `gatehouse-fed-${issuer.name}`,
        federatedIssuers: [{ issuer: issuer.issuer, subjects: issuer.azureIdentity.subjects, audiences: issuer.azureIdentity.audiences }],
      });
      this.records.addAccess(identity.principalId, 'read');
      federated.set(issuer.name, identity);
    }
    this.federatedIdentities = federated;
  }

}
