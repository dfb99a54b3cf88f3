import { type KeyVaultKey, LogAnalyticsWorkspace, RoleAssignment } from './providers';
import { Token, dependable, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import {
  existingDatabaseTls,
  validateBaseProps,
  type ExistingDatabaseBase,
  type GatehouseBaseProps,
  type GatehouseConnectionBase,
  type GatehouseDatabaseBase,
  type GatehouseIssuerBase,
  type GatehouseNetworkBase,
} from '../core/gatehouse-props';
import { connectionConfig, issuerConfig, needsSecret, validateUniqueNames, tuningConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GatewayAlarms } from './gateway-alarms';
import { GatewayContainerApps } from './gateway-container-apps';
import { GatewayNetwork } from './gateway-network';
import { RbacPropagation } from './rbac-propagation';
import { RecordStorage } from './record-storage';
import type { ResourceGroupRef } from './resource-group-ref';
import { StateBootstrapJob } from './state-bootstrap-job';
import { StateDatabase } from './state-database';
import { UpstreamCredentials, type ExistingKeyVault } from './upstream-credentials';
import { WorkloadIdentity } from './workload-identity';

/** A trusted caller issuer (`federation` gives its workloads a read-only Entra identity). */
export type GatehouseIssuer = GatehouseIssuerBase;

/** An existing Key Vault secret holding a connection's credential. */
export interface AzureSecretRef {
  /** Resource id of its vault (read access is granted on this one secret). */
  readonly vaultId: string;
  readonly vaultName: string;
  /** Secret name. */
  readonly name: string;
}

/** An upstream connection; its credential lives in Key Vault (the kit's, or `secret`). */
export type GatehouseConnection = GatehouseConnectionBase<AzureSecretRef>;

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

/** The VNet the kit creates (`GatewayNetwork`). */
export interface GatehouseNetwork extends GatehouseNetworkBase {
  /**
   * The VNet's address space, a /22 or larger; the subnets below default to its first /23 (apps),
   * the /24 after it (endpoints) and the next /24 (database).
   * @default '10.40.0.0/16'
   */
  readonly cidr?: string;
  /** @default the first /23 of `cidr` */
  readonly appsPrefix?: string;
  /** @default the /24 after the apps subnet */
  readonly endpointsPrefix?: string;
  /** @default the /24 after the endpoints subnet */
  readonly databasePrefix?: string;
  /** Outbound internet through a NAT gateway with one static public IP. @default true */
  readonly natGateway?: boolean;
}

/** The PostgreSQL Flexible Server the kit creates (`StateDatabase`). */
export interface GatehouseDatabase extends GatehouseDatabaseBase {
  /** @default StateDatabase's default SKU */
  readonly skuName?: string;
  /** @default StateDatabase's default storage */
  readonly storageMb?: number;
  /** Zone-redundant high availability. @default true */
  readonly zoneRedundant?: boolean;
}

/** An existing database: its URL is in the Key Vault secret named `secret` (in the kit's vault). */
export type ExistingDatabase = ExistingDatabaseBase<string>;

export interface GatehouseProps extends GatehouseBaseProps<GatehouseIssuer, GatehouseConnection> {
  readonly resourceGroup: ResourceGroupRef;
  /** Entra ID tenant (Key Vault, database logins). */
  readonly tenantId: string;
  /**
   * The gateway image (the same image as on AWS and Google Cloud), an image reference such as
   * `acr.azurecr.io/gatehouse:0.1.0`.
   */
  readonly image: string;
  /**
   * Registry (ACR) the image is pulled from with the gateway and bootstrap identities: its login
   * server and, to grant AcrPull, its resource id.
   * @default a public image; required for an `*.azurecr.io` image (refused at synth without it)
   */
  readonly registry?: { readonly server: string; readonly id?: string };
  /**
   * An existing network with the three subnets GatewayNetwork would create. Conflicts with `network`.
   * @default a new GatewayNetwork
   */
  readonly existingNetwork?: ExistingGatewayNetwork;
  /**
   * The VNet the kit creates. Conflicts with `existingNetwork`.
   * @default a new GatewayNetwork with address space '10.40.0.0/16'
   */
  readonly network?: GatehouseNetwork;
  /** @default a new premium vault */
  readonly existingVault?: ExistingKeyVault;
  /**
   * IPv4 ranges of the machine that runs `cdktf deploy`, admitted on the created vault's public
   * endpoint so Terraform can create the kit's keys (a data-plane call). Required when the kit
   * creates both the network and the vault: the first deploy cannot run inside a VNet that does
   * not exist yet.
   * @default []
   */
  readonly deployerCidrs?: readonly string[];
  /**
   * Principal that runs `cdktf deploy` (gets Key Vault Crypto Officer and Secrets Officer on the
   * created vault, so it can create the keys and put connection credentials).
   * @default none: grant them yourself before deploying
   */
  readonly deployerPrincipalId?: string;
  /**
   * Use an existing PostgreSQL database; its URL is in the Key Vault secret named `secret` (in the
   * kit's vault). Then no server, bootstrap identity or job is created.
   * @default a new StateDatabase with Entra authentication only
   */
  readonly existingDatabase?: ExistingDatabase;
  /**
   * The database the kit creates. Conflicts with `existingDatabase`.
   * @default StateDatabase's defaults
   */
  readonly database?: GatehouseDatabase;
  /**
   * Encrypt the record storage account and the state database with customer-managed keys
   * (RSA-HSM 3072 in the vault; the storage key rotates yearly).
   * @default true
   */
  readonly customerManagedKeys?: boolean;
}

/** Names of what the kit creates in Key Vault and Entra. */
export const AZURE_NAMES = {
  gatewayIdentity: 'gatehouse-gateway',
  bootstrapIdentity: 'gatehouse-state-admin',
  signingKey: 'gatehouse-record-signing',
  recordsKey: 'gatehouse-records-cmk',
  stateKey: 'gatehouse-state-cmk',
  encryptionIdentity: 'gatehouse-cmk',
  stateSchema: 'gatehouse',
} as const;

/**
 * Everything a production Gatehouse needs in one Azure resource group, wired with least privilege
 * and deployable in one unattended `cdktf deploy`:
 *
 * 1. network, Log Analytics, identities, the vault (premium) and its keys, generated inside it;
 * 2. the record account (CMK, locked container policy), the database (Entra only);
 * 3. the role assignments; then the gateway apps, which wait for them, and the bootstrap job,
 *    which creates the gateway's database role. Until its role and its connection credentials
 *    exist the gateway is alive but not ready (fails closed); it turns ready by itself.
 */
export class Gatehouse extends Construct {
  /** The created network (none with `existingNetwork`). */
  public readonly network?: GatewayNetwork;
  public readonly logs: LogAnalyticsWorkspace;
  /** The gateway's cloud identity: its user-assigned managed identity. */
  public readonly gatewayIdentity: WorkloadIdentity;
  public readonly records: RecordStorage;
  public readonly credentials: UpstreamCredentials;
  /** The record-signing key (EC P-256, HSM-backed on a premium vault, sign/verify only). */
  public readonly signingKey: KeyVaultKey;
  /** The key the record storage account is encrypted with (with `customerManagedKeys`). */
  public readonly recordsKey?: KeyVaultKey;
  /** The key the created state database is encrypted with (with `customerManagedKeys`). */
  public readonly stateKey?: KeyVaultKey;
  /** The identity storage and the database read their customer-managed keys with. */
  public readonly encryptionIdentity?: WorkloadIdentity;
  public readonly database?: StateDatabase;
  public readonly bootstrapIdentity?: WorkloadIdentity;
  /** Creates the gateway's database role (with a created database). */
  public readonly stateBootstrap?: StateBootstrapJob;
  public readonly gateway: GatewayContainerApps;
  public readonly alarms: GatewayAlarms;
  /** Per issuer with `federation`: its read-only identity. */
  public readonly federations: ReadonlyMap<string, WorkloadIdentity>;
  /** The gateway configuration document (references only, never secret values). */
  public readonly config: GatewayConfigDocument;

  constructor(scope: Construct, id: string, props: GatehouseProps) {
    super(scope, id);
    validateBaseProps(props, Token.isUnresolved);
    const existingDatabaseSecret = props.existingDatabase?.secret;
    if (props.existingDatabase && props.database) {
      throw new Error('Gatehouse: database applies to a created database; it conflicts with existingDatabase (give one or the other)');
    }
    if (props.existingNetwork && props.network) {
      throw new Error('Gatehouse: network applies to a created VNet; it conflicts with existingNetwork (give one or the other)');
    }
    if (!props.existingNetwork && !props.existingVault && (props.deployerCidrs ?? []).length === 0) {
      throw new Error('Gatehouse: deployerCidrs is required when the kit creates the network and the vault: Terraform creates the keys through the vault\'s data plane, which is private otherwise, and the first deploy cannot run inside a VNet that does not exist yet (give the deploying machine\'s public address, e.g. ["203.0.113.7/32"])');
    }
    const sshConnections = (props.connections ?? []).filter((c) => (c.spec as { kind?: unknown }).kind === 'ssh').map((c) => c.name);
    if (sshConnections.length > 0 && !(props.tcpProtocols ?? []).includes('ssh')) {
      // The gateway refuses an ssh connection without its listener (gateway/src/config/load.ts): it would serve nothing.
      throw new Error(`Gatehouse: ssh connection${sshConnections.length > 1 ? 's' : ''} ${sshConnections.join(', ')} need${sshConnections.length > 1 ? '' : 's'} tcpProtocols to include "ssh" (and sshHostKey)`);
    }
    validateUniqueNames('issuer', (props.issuers ?? []).map((i) => i.name));
    validateUniqueNames('connection', (props.connections ?? []).map((c) => c.name));
    validateRegistry(props.image, props.registry);
    const rg = props.resourceGroup;

    let net: ExistingGatewayNetwork;
    if (props.existingNetwork) {
      net = props.existingNetwork;
    } else {
      const { cidr, ...subnets } = props.network ?? {};
      this.network = new GatewayNetwork(this, 'Network', { resourceGroup: rg, addressSpace: cidr, ...subnets });
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

    this.gatewayIdentity = new WorkloadIdentity(this, 'Identity', { resourceGroup: rg, name: AZURE_NAMES.gatewayIdentity });
    const gatewayPrincipal = this.gatewayIdentity.principalId;

    const connections = props.connections ?? [];
    this.credentials = new UpstreamCredentials(this, 'Credentials', {
      resourceGroup: rg,
      tenantId: props.tenantId,
      connections: connections.filter((c) => needsSecret(c) && !c.secret).map((c) => c.name),
      existingVault: props.existingVault,
      endpointSubnetId: props.existingVault ? undefined : net.endpointsSubnetId,
      virtualNetworkId: props.existingVault ? undefined : net.virtualNetworkId,
      deployerCidrs: props.existingVault ? undefined : props.deployerCidrs,
      deployerPrincipalId: props.deployerPrincipalId,
      logAnalyticsWorkspaceId: props.existingVault ? undefined : this.logs.id,
    });
    const access: RoleAssignment[] = [];
    if (this.credentials.secretNames.size > 0 || existingDatabaseSecret) access.push(this.credentials.addAccess(gatewayPrincipal));
    connections.filter((c) => c.secret).forEach((c, i) => access.push(new RoleAssignment(this, `ConnectionSecret${i}`, {
      scope: `${c.secret!.vaultId}/secrets/${c.secret!.name}`,
      roleDefinitionName: 'Key Vault Secrets User',
      principalId: gatewayPrincipal,
      principalType: 'ServicePrincipal',
      description: `Gatehouse gateway reads the credential of connection ${c.name}`,
    })));

    this.signingKey = this.credentials.addKey('SigningKey', { name: AZURE_NAMES.signingKey, algorithm: 'EC', operations: ['sign', 'verify'] });
    access.push(this.credentials.addKeyAccess(this.signingKey, gatewayPrincipal, 'sign'));

    type EncryptionKey = { keyVaultKeyId: string; identityId: string; dependsOn: ITerraformDependable[] };
    let encryptionKey: EncryptionKey | undefined;
    let stateEncryptionKey: EncryptionKey | undefined;
    if (props.customerManagedKeys !== false) {
      const cmk = this.encryptionIdentity = new WorkloadIdentity(this, 'EncryptionIdentity', { resourceGroup: rg, name: AZURE_NAMES.encryptionIdentity });
      // The service creates its resource with the key only once its identity's role has arrived.
      const cmkFor = (key: KeyVaultKey): EncryptionKey => {
        const assignment = this.credentials.addKeyAccess(key, cmk.principalId, 'encrypt');
        const settled = new RbacPropagation(this, `${key.node.id}Settled`, { assignments: [assignment] });
        return { keyVaultKeyId: key.versionlessId, identityId: cmk.identity.id, dependsOn: [assignment, settled.wait] };
      };
      this.recordsKey = this.credentials.addKey('RecordsKey', { name: AZURE_NAMES.recordsKey, algorithm: 'RSA', operations: ['wrapKey', 'unwrapKey'], rotateAfter: 'P365D' });
      encryptionKey = cmkFor(this.recordsKey);
      if (!existingDatabaseSecret) {
        this.stateKey = this.credentials.addKey('StateKey', { name: AZURE_NAMES.stateKey, algorithm: 'RSA', operations: ['wrapKey', 'unwrapKey'] });
        stateEncryptionKey = cmkFor(this.stateKey);
      }
    }

    this.records = new RecordStorage(this, 'Records', {
      resourceGroup: rg,
      retentionDays: props.recordRetentionDays,
      endpointSubnetId: net.endpointsSubnetId,
      virtualNetworkId: net.virtualNetworkId,
      encryptionKey,
      logAnalyticsWorkspaceId: this.logs.id,
    });
    access.push(this.records.addAccess(gatewayPrincipal, 'append'));

    let stateConfig: GatewayConfigDocument;
    if (existingDatabaseSecret) {
      stateConfig = { url: this.credentials.reference(existingDatabaseSecret), ...existingDatabaseTls(props.existingDatabase) };
    } else {
      this.bootstrapIdentity = new WorkloadIdentity(this, 'BootstrapIdentity', { resourceGroup: rg, name: AZURE_NAMES.bootstrapIdentity });
      this.database = new StateDatabase(this, 'State', {
        resourceGroup: rg,
        delegatedSubnetId: net.databaseSubnetId,
        virtualNetworkId: net.virtualNetworkId,
        tenantId: props.tenantId,
        administrator: { objectId: this.bootstrapIdentity.principalId, principalName: AZURE_NAMES.bootstrapIdentity },
        logAnalyticsWorkspaceId: this.logs.id,
        encryptionKey: stateEncryptionKey,
        ...(props.database ?? {}),
      });
      // The gateway logs in as its own role, named after its identity, with an Entra token.
      // Its tables live in the schema the bootstrap job creates for it.
      stateConfig = { url: this.database.url(AZURE_NAMES.gatewayIdentity), iamAuth: 'azure-entra', schema: AZURE_NAMES.stateSchema };
    }

    const config: GatewayConfigDocument = this.config = {
      mode: 'production',
      identity: { issuers: (props.issuers ?? []).map((i) => issuerConfig(i, Token.isUnresolved)) },
      connections: connections.map((c) => connectionConfig(
        c,
        () => (c.secret ? `azure-kv:${c.secret.vaultName}/${c.secret.name}` : this.credentials.referenceFor(c.name)),
        `Key Vault secret gatehouse-${c.name}, or give connection.secret`,
      )),
      recording: {
        mode: props.recordingMode ?? 'strict',
        sink: {
          type: 'azure-blob',
          endpoint: this.records.blobEndpoint,
          container: this.records.container.name,
          prefix: this.records.prefix,
        },
        // ES256 with a Key Vault key: the private key never leaves the vault.
        signingKey: `azure-kv-key:https://${this.credentials.vaultName}.vault.azure.net/keys/${AZURE_NAMES.signingKey}`,
      },
      state: stateConfig,
      ...(props.adminGroups ? { admin: { groups: [...props.adminGroups] } } : {}),
      ...tuningConfig(props.busyPollMicroseconds),
    };

    if (props.registry?.id) {
      const pullers: [string, string][] = [['AcrPull', gatewayPrincipal]];
      if (this.bootstrapIdentity) pullers.push(['AcrPullBootstrap', this.bootstrapIdentity.principalId]);
      for (const [rid, principalId] of pullers) {
        access.push(new RoleAssignment(this, rid, {
          scope: props.registry.id,
          roleDefinitionName: 'AcrPull',
          principalId,
          principalType: 'ServicePrincipal',
          description: 'Gatehouse pulls its image',
        }));
      }
    }

    this.gateway = new GatewayContainerApps(this, 'Gateway', {
      resourceGroup: rg,
      image: props.image,
      identity: { id: this.gatewayIdentity.identity.id, clientId: this.gatewayIdentity.clientId },
      registryServer: props.registry?.server,
      infrastructureSubnetId: net.appsSubnetId,
      logAnalyticsWorkspaceId: this.logs.id,
      virtualNetworkId: net.virtualNetworkId,
      clientCidrs: props.clientCidrs ?? net.clientCidrs,
      config,
      tcpProtocols: props.tcpProtocols,
      sshHostKey: props.sshHostKey,
      tcpTls: props.tcpTls,
      replicas: props.replicas,
      size: props.size,
      // The gateway checks its signing key at start (server/preflight.ts): its roles must have
      // arrived, or the first replicas exit and restart until they do.
      dependsOn: [
        ...access,
        new RbacPropagation(this, 'GatewayAccessSettled', { assignments: access }).wait,
        this.signingKey,
        ...(this.credentials.privateLink ? [this.credentials.privateLink.endpoint] : []),
        this.records.privateLink.endpoint,
      ],
    });

    if (this.database && this.bootstrapIdentity) {
      this.stateBootstrap = new StateBootstrapJob(this, 'Bootstrap', {
        resourceGroup: rg,
        environmentId: this.gateway.environmentId,
        image: props.image,
        registryServer: props.registry?.server,
        identity: { id: this.bootstrapIdentity.identity.id, clientId: this.bootstrapIdentity.clientId },
        adminUrl: this.database.url(AZURE_NAMES.bootstrapIdentity),
        appRole: { name: AZURE_NAMES.gatewayIdentity, principalId: gatewayPrincipal },
        schema: AZURE_NAMES.stateSchema,
        dependsOn: [this.database.administrator, this.database.database, ...access],
      });
      // The schedule is armed before any revision is created: if Container Apps holds the app's
      // creation until a replica is ready (/readyz), the job's first run (within one period)
      // creates the role that readiness waits for, instead of racing the apps for the environment.
      const job = dependable(this.stateBootstrap.job);
      for (const app of this.gateway.apps.values()) app.dependsOn = [...(app.dependsOn ?? []), job];
    }

    this.alarms = new GatewayAlarms(this, 'Alerts', {
      resourceGroup: rg,
      apps: this.gateway.apps,
      minReplicas: this.gateway.replicas.min,
      logAnalyticsWorkspaceId: this.logs.id,
      alarmEmail: props.alarmEmail,
    });

    const federations = new Map<string, WorkloadIdentity>();
    for (const issuer of props.issuers ?? []) {
      if (!issuer.federation) continue;
      const identity = new WorkloadIdentity(this, `Federation-${issuer.name}`, {
        resourceGroup: rg,
        name: `gatehouse-fed-${issuer.name}`,
        federatedIssuers: [{ issuer: issuer.issuer, subjects: issuer.federation.subjects, audiences: issuer.federation.audiences ?? issuer.audiences }],
      });
      // `gatehouse verify`: read the record and the signing key's public part, never sign.
      this.records.addAccess(identity.principalId, 'read');
      this.credentials.addKeyAccess(this.signingKey, identity.principalId, 'read');
      federations.set(issuer.name, identity);
    }
    this.federations = federations;
  }
}

/**
 * An ACR never serves anonymous pulls unless its admin enables them; without `registry` the apps
 * carry no pull identity and the revision fails at apply with an image pull error, far from the
 * cause. Refuse an `*.azurecr.io` image whose registry is not given (or is another one).
 */
function validateRegistry(image: string, registry: GatehouseProps['registry']): void {
  if (Token.isUnresolved(image)) return;
  const host = image.split('/')[0].toLowerCase();
  if (!/\.azurecr\.io$/.test(host)) return;
  if (!registry) {
    throw new Error(`Gatehouse: image "${image}" is in Azure Container Registry ${host}, but registry is not set: the apps would pull it anonymously and fail at apply; set registry: { server: "${host}", id: "<registry resource id>" } (the id grants AcrPull to the gateway and bootstrap identities)`);
  }
  if (!Token.isUnresolved(registry.server) && registry.server.toLowerCase() !== host) {
    throw new Error(`Gatehouse: image "${image}" is in ${host}, but registry.server is "${registry.server}": the apps would pull from a registry they have no identity for; set registry.server to "${host}"`);
  }
}
