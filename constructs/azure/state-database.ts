import { MonitorDiagnosticSetting, PostgresqlFlexibleServer, PostgresqlFlexibleServerActiveDirectoryAdministrator, PostgresqlFlexibleServerConfiguration, PostgresqlFlexibleServerDatabase, PrivateDnsZone, PrivateDnsZoneVirtualNetworkLink } from './providers';
import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { checkName, pathHash } from './names';
import type { ResourceGroupRef } from './resource-group-ref';

/** The Entra principal that administers the server (a managed identity, never the gateway's). */
export interface DatabaseAdministrator {
  /** Object (principal) id. */
  readonly objectId: string;
  /** Its name as PostgreSQL knows it (a managed identity's name). */
  readonly principalName: string;
  /** @default 'ServicePrincipal' */
  readonly principalType?: 'ServicePrincipal' | 'User' | 'Group';
}

export interface StateDatabaseProps {
  readonly resourceGroup: ResourceGroupRef;
  /** Subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers` (GatewayNetwork.databaseSubnet). */
  readonly delegatedSubnetId: string;
  /** VNet linked to the server's private DNS zone. */
  readonly virtualNetworkId: string;
  /** Entra ID tenant of the administrator and of every login. */
  readonly tenantId: string;
  /**
   * The Entra administrator: the bootstrap identity that creates the gateway's own role, not the
   * gateway. There is no password administrator at all.
   */
  readonly administrator: DatabaseAdministrator;
  /**
   * Server name (globally unique, 3-63 lowercase letters, digits and dashes).
   * @default 'gatehouse-state-' plus a hash of the construct path
   */
  readonly serverName?: string;
  /** @default 'GP_Standard_D2ds_v5' */
  readonly skuName?: string;
  /** @default '16' */
  readonly version?: string;
  /** @default 32768 */
  readonly storageMb?: number;
  /**
   * Standby replica in another zone (needs a General Purpose or Memory Optimized SKU).
   * @default true
   */
  readonly zoneRedundant?: boolean;
  /** @default 7 */
  readonly backupRetentionDays?: number;
  /** @default 'gatehouse' */
  readonly databaseName?: string;
  /**
   * Log Analytics workspace that receives the server's logs (`PostgreSQLLogs`, with connections
   * and disconnections logged).
   * @default no diagnostic setting
   */
  readonly logAnalyticsWorkspaceId?: string;
  /**
   * Customer-managed key for the server's storage and backups: a Key Vault key and the
   * user-assigned identity the server reads it with (it needs `Key Vault Crypto Service Encryption
   * User` on the key first: pass that assignment in `dependsOn`). Fixed at creation.
   * @default service-managed keys
   */
  readonly encryptionKey?: { readonly keyVaultKeyId: string; readonly identityId: string; readonly dependsOn?: readonly ITerraformDependable[] };
}

/**
 * The gateway's state store on Azure: PostgreSQL Flexible Server with private access only (VNet
 * integration in a delegated subnet; no public endpoint), TLS required, zone-redundant standby
 * and backups, and **Entra ID authentication only**: no administrator password exists, so none is
 * in Terraform state. The Entra administrator is a separate bootstrap identity; the gateway logs
 * in as its own non-admin role (`url(role)`), which the bootstrap job creates.
 */
export class StateDatabase extends Construct {
  public readonly server: PostgresqlFlexibleServer;
  public readonly administrator: PostgresqlFlexibleServerActiveDirectoryAdministrator;
  public readonly database: PostgresqlFlexibleServerDatabase;
  public readonly dnsZone: PrivateDnsZone;
  public readonly databaseName: string;
  public readonly logs?: MonitorDiagnosticSetting;

  constructor(scope: Construct, id: string, props: StateDatabaseProps) {
    super(scope, id);
    const rg = props.resourceGroup;
    this.databaseName = props.databaseName ?? 'gatehouse';
    checkName('StateDatabase', 'databaseName', this.databaseName, /^[a-z][a-z0-9_]{0,62}$/, 'a letter followed by lowercase letters, digits and "_"');
    const serverName = props.serverName ?? `gatehouse-state-${pathHash(this)}`;
    checkName('StateDatabase', 'serverName', serverName, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, '3-63 lowercase letters, digits and dashes');
    const retention = props.backupRetentionDays ?? 7;
    if (!Token.isUnresolved(retention) && (!Number.isInteger(retention) || retention < 7 || retention > 35)) {
      throw new Error(`StateDatabase: backupRetentionDays must be a whole number between 7 and 35, got ${retention}`);
    }

    this.dnsZone = new PrivateDnsZone(this, 'Zone', {
      name: `${serverName}.private.postgres.database.azure.com`,
      resourceGroupName: rg.name,
    });
    const link = new PrivateDnsZoneVirtualNetworkLink(this, 'ZoneLink', {
      name: 'postgres-link',
      resourceGroupName: rg.name,
      privateDnsZoneName: this.dnsZone.name,
      virtualNetworkId: props.virtualNetworkId,
      registrationEnabled: false,
    });

    this.server = new PostgresqlFlexibleServer(this, 'Server', {
      name: serverName,
      resourceGroupName: rg.name,
      location: rg.location,
      version: props.version ?? '16',
      skuName: props.skuName ?? 'GP_Standard_D2ds_v5',
      storageMb: props.storageMb ?? 32768,
      autoGrowEnabled: true,
      delegatedSubnetId: props.delegatedSubnetId,
      privateDnsZoneId: this.dnsZone.id,
      publicNetworkAccessEnabled: false,
      // Entra only. azurerm 4.55 refuses administrator_login/administrator_password at creation
      // when password authentication is off (postgresql_flexible_server_resource.go, create:
      // "`administrator_login`, `administrator_password` and `administrator_password_wo` cannot
      // be set during creation when `authentication.password_auth_enabled` is set to `false`"),
      // and `tenant_id` goes with active_directory_auth_enabled.
      authentication: { activeDirectoryAuthEnabled: true, passwordAuthEnabled: false, tenantId: props.tenantId },
      backupRetentionDays: retention,
      geoRedundantBackupEnabled: false,
      highAvailability: props.zoneRedundant === false ? undefined : { mode: 'ZoneRedundant' },
      // postgresql_flexible_server_resource.go: customer_managed_key.0.key_vault_key_id is
      // RequiredWith `identity` and `customer_managed_key.0.primary_user_assigned_identity_id`.
      identity: props.encryptionKey ? { type: 'UserAssigned', identityIds: [props.encryptionKey.identityId] } : undefined,
      customerManagedKey: props.encryptionKey
        ? { keyVaultKeyId: props.encryptionKey.keyVaultKeyId, primaryUserAssignedIdentityId: props.encryptionKey.identityId }
        : undefined,
      dependsOn: [link, ...(props.encryptionKey?.dependsOn ?? [])],
      lifecycle: { preventDestroy: true, ignoreChanges: ['zone', 'high_availability[0].standby_availability_zone'] },
    });
    this.administrator = new PostgresqlFlexibleServerActiveDirectoryAdministrator(this, 'Administrator', {
      serverName: this.server.name,
      resourceGroupName: rg.name,
      tenantId: props.tenantId,
      objectId: props.administrator.objectId,
      principalName: props.administrator.principalName,
      principalType: props.administrator.principalType ?? 'ServicePrincipal',
    });
    new PostgresqlFlexibleServerConfiguration(this, 'RequireTls', {
      serverId: this.server.id,
      name: 'require_secure_transport',
      value: 'on',
    });
    new PostgresqlFlexibleServerConfiguration(this, 'MinTls', {
      serverId: this.server.id,
      name: 'ssl_min_protocol_version',
      value: 'TLSv1.2',
    });
    this.database = new PostgresqlFlexibleServerDatabase(this, 'Database', {
      serverId: this.server.id,
      name: this.databaseName,
      charset: 'UTF8',
      collation: 'en_US.utf8',
    });
    if (props.logAnalyticsWorkspaceId) {
      this.logs = new MonitorDiagnosticSetting(this, 'Logs', {
        name: 'gatehouse-state-logs',
        targetResourceId: this.server.id,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
        enabledLog: [{ category: 'PostgreSQLLogs' }],
      });
      for (const [name, value] of [['log_connections', 'on'], ['log_disconnections', 'on']]) {
        new PostgresqlFlexibleServerConfiguration(this, `Config-${name}`, { serverId: this.server.id, name, value });
      }
    }
  }

  /** Host name inside the VNet. */
  public get fqdn(): string {
    return this.server.fqdn;
  }

  /**
   * The URL a role logs in with: Entra token as the password (the gateway's `state.iamAuth:
   * azure-entra`), server identity verified against the system CA store.
   */
  public url(role: string, database = this.databaseName): string {
    return `postgresql://${role}@${this.server.fqdn}:5432/${database}?sslmode=verify-full`;
  }
}
