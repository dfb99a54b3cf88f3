import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { PostgresqlFlexibleServerConfiguration } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-configuration';
import { PostgresqlFlexibleServerDatabase } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-database';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { checkName, pathHash } from './names';
import type { ResourceGroupRef } from './resource-group-ref';

export interface StateDatabaseProps {
  readonly resourceGroup: ResourceGroupRef;
  /** Subnet delegated to `Microsoft.DBforPostgreSQL/flexibleServers` (GatewayNetwork.databaseSubnet). */
  readonly delegatedSubnetId: string;
  /** VNet linked to the server's private DNS zone. */
  readonly virtualNetworkId: string;
  /**
   * Administrator password: pass a sensitive `TerraformVariable`, never a literal.
   */
  readonly administratorPassword: string;
  /**
   * Administrator login.
   * @default 'gatehouse'
   */
  readonly administratorLogin?: string;
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
}

/**
 * The gateway's state store on Azure: PostgreSQL Flexible Server with private access only (VNet
 * integration in a delegated subnet whose security group admits the apps subnet on 5432; no
 * public endpoint), TLS required, zone-redundant standby and backups.
 *
 * The gateway reads its connection URL from Key Vault (`state-url`), which the operator puts after
 * the first deploy: the password is a Terraform variable, never in the configuration.
 */
export class StateDatabase extends Construct {
  public readonly server: PostgresqlFlexibleServer;
  public readonly database: PostgresqlFlexibleServerDatabase;
  public readonly dnsZone: PrivateDnsZone;
  public readonly databaseName: string;

  constructor(scope: Construct, id: string, props: StateDatabaseProps) {
    super(scope, id);
    const rg = props.resourceGroup;
    this.databaseName = props.databaseName ?? 'gatehouse';
    checkName('StateDatabase', 'databaseName', this.databaseName, /^[a-z][a-z0-9_]{0,62}$/, 'a letter followed by lowercase letters, digits and "_"');
    const serverName = props.serverName ?? `gatehouse-state-${pathHash(this)}`;
    checkName('StateDatabase', 'serverName', serverName, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, '3-63 lowercase letters, digits and dashes');
    if (!Token.isUnresolved(props.administratorPassword) && props.administratorPassword.length > 0) {
      throw new Error('StateDatabase: administratorPassword must be a token (a sensitive TerraformVariable), not a literal that would land in the synthesized JSON');
    }
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
      administratorLogin: props.administratorLogin ?? 'gatehouse',
      administratorPassword: props.administratorPassword,
      authentication: { passwordAuthEnabled: true, activeDirectoryAuthEnabled: false },
      backupRetentionDays: retention,
      geoRedundantBackupEnabled: false,
      highAvailability: props.zoneRedundant === false ? undefined : { mode: 'ZoneRedundant' },
      dependsOn: [link],
      lifecycle: { preventDestroy: true, ignoreChanges: ['zone', 'high_availability[0].standby_availability_zone'] },
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
  }

  /** Host name inside the VNet. */
  public get fqdn(): string {
    return this.server.fqdn;
  }
}
