import { SqlDatabase } from '@cdktf/provider-google/lib/sql-database';
import { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance';
import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface StateDatabaseProps {
  readonly region: string;
  /** VPC (`projects/<p>/global/networks/<n>`) with private services access. */
  readonly networkId: string;
  /** The private services connection: the instance is created after it. */
  readonly privateServicesConnection?: ITerraformDependable;
  /**
   * Instance name.
   * @default 'gatehouse-state'
   */
  readonly instanceName?: string;
  /** @default 'db-custom-1-3840' */
  readonly tier?: string;
  /** @default 'POSTGRES_16' */
  readonly databaseVersion?: string;
  /**
   * Regional (standby in another zone) or zonal.
   * @default 'REGIONAL'
   */
  readonly availabilityType?: 'REGIONAL' | 'ZONAL';
  /** @default 7 */
  readonly backupRetentionDays?: number;
  /** @default 'gatehouse' */
  readonly databaseName?: string;
}

/**
 * The gateway's state store on Google Cloud: Cloud SQL for PostgreSQL with a private IP only (no
 * public IPv4, no authorized networks), TLS required, regional availability, backups with
 * point-in-time recovery, deletion protection.
 *
 * The gateway reads its connection URL from Secret Manager (`gatehouse-state-url`), which the
 * operator fills after creating the database user (`gcloud sql users create`).
 */
export class StateDatabase extends Construct {
  public readonly instance: SqlDatabaseInstance;
  public readonly database: SqlDatabase;

  constructor(scope: Construct, id: string, props: StateDatabaseProps) {
    super(scope, id);
    const databaseName = props.databaseName ?? 'gatehouse';
    if (!Token.isUnresolved(databaseName) && !/^[a-z][a-z0-9_]{0,62}$/.test(databaseName)) {
      throw new Error(`StateDatabase: databaseName must start with a letter and hold lowercase letters, digits and "_", got "${databaseName}"`);
    }
    const retention = props.backupRetentionDays ?? 7;
    if (!Number.isInteger(retention) || retention < 1 || retention > 365) {
      throw new Error(`StateDatabase: backupRetentionDays must be a whole number between 1 and 365, got ${retention}`);
    }
    this.instance = new SqlDatabaseInstance(this, 'Instance', {
      name: props.instanceName ?? 'gatehouse-state',
      region: props.region,
      databaseVersion: props.databaseVersion ?? 'POSTGRES_16',
      deletionProtection: true,
      settings: {
        tier: props.tier ?? 'db-custom-1-3840',
        edition: 'ENTERPRISE',
        availabilityType: props.availabilityType ?? 'REGIONAL',
        deletionProtectionEnabled: true,
        diskAutoresize: true,
        ipConfiguration: {
          ipv4Enabled: false,
          privateNetwork: props.networkId,
          sslMode: 'ENCRYPTED_ONLY',
          enablePrivatePathForGoogleCloudServices: false,
        },
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          backupRetentionSettings: { retainedBackups: retention, retentionUnit: 'COUNT' },
        },
        databaseFlags: [{ name: 'log_connections', value: 'on' }, { name: 'log_disconnections', value: 'on' }],
      },
      dependsOn: props.privateServicesConnection ? [props.privateServicesConnection] : undefined,
      lifecycle: { preventDestroy: true },
    });
    this.database = new SqlDatabase(this, 'Database', { name: databaseName, instance: this.instance.name });
  }

  /** Private IP address of the instance. */
  public get privateIp(): string {
    return this.instance.privateIpAddress;
  }
}
