import { ProjectIamMember, SqlDatabase, SqlDatabaseInstance, SqlUser } from './providers';
import { Fn, TerraformStack, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface StateDatabaseProps {
  /** Project id (IAM grants and the server certificate's name). */
  readonly project: string;
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
  /**
   * Cloud KMS key (in `region`) for customer-managed encryption of the instance's disks and
   * backups (`encryption_key_name`). **Creation only**: the provider replaces the instance when it
   * changes (ForceNew in google/services/sql/resource_sql_database_instance.go, v7.42.0), which
   * `prevent_destroy` then refuses; so choose it before the first apply. The Cloud SQL service agent
   * must hold `roles/cloudkms.cryptoKeyEncrypterDecrypter` on it first (`ServiceAgentKey` for
   * `sqladmin.googleapis.com`): pass that grant in `dependsOn`.
   * @default Google-managed encryption
   */
  readonly kmsKeyName?: string;
  /** What the instance must wait for (e.g. the service agent's grant on `kmsKeyName`). @default none */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** A Cloud SQL IAM database user for a service account. */
export interface IamDatabaseUser {
  readonly user: SqlUser;
  /** The PostgreSQL role name: the account's email without `.gserviceaccount.com`. */
  readonly roleName: string;
  /** The IAM grant that lets the account log in (`roles/cloudsql.instanceUser` on this instance only). */
  readonly login: ProjectIamMember;
}

export interface IamDatabaseUserOptions {
  /**
   * Database roles Cloud SQL grants the user when it creates it (`database_roles`, e.g.
   * `cloudsqlsuperuser` for an account that administers the database).
   * @default none: the user can log in and has no privilege until one is granted
   */
  readonly databaseRoles?: readonly string[];
}

/**
 * The google provider the Google Cloud kit needs: `database_roles` on `google_sql_user` arrived in
 * 7.18.0 and `run_execution_token` on `google_cloud_run_v2_job` became GA in 7.42.0
 * (hashicorp/terraform-provider-google: google/services/sql/resource_sql_user.go,
 * google/services/cloudrunv2/resource_cloud_run_v2_job.go, CHANGELOG). The prebuilt bindings
 * (@cdktf/provider-google 16.12.1) were generated from 6.50.0, so the kit sets those two
 * attributes by override and requires a 7.x provider; it uses no attribute 7.0 removed.
 */
export const GOOGLE_PROVIDER_VERSION = '>= 7.42.0, < 8.0.0';

/**
 * The gateway's state store on Google Cloud: Cloud SQL for PostgreSQL with a private IP only (no
 * public IPv4, no authorized networks), TLS required, regional availability, backups with
 * point-in-time recovery, deletion protection.
 *
 * No password exists: logins are IAM database authentication (`cloudsql.iam_authentication`),
 * users are service accounts (`addIamServiceAccountUser`), and the kit creates no built-in user.
 * The server certificate is signed by the instance's own CA (`GOOGLE_MANAGED_INTERNAL_CA`);
 * `serverCaCertPem` and `serverName` let a client verify it (verify-full).
 */
export class StateDatabase extends Construct {
  public readonly instance: SqlDatabaseInstance;
  public readonly database: SqlDatabase;
  public readonly databaseName: string;
  private readonly project: string;

  constructor(scope: Construct, id: string, props: StateDatabaseProps) {
    super(scope, id);
    const databaseName = props.databaseName ?? 'gatehouse';
    this.databaseName = databaseName;
    this.project = props.project;
    if (!Token.isUnresolved(databaseName) && !/^[a-z][a-z0-9_]{0,62}$/.test(databaseName)) {
      throw new Error(`StateDatabase: databaseName must start with a letter and hold lowercase letters, digits and "_", got "${databaseName}"`);
    }
    const retention = props.backupRetentionDays ?? 7;
    if (!Number.isInteger(retention) || retention < 1 || retention > 365) {
      throw new Error(`StateDatabase: backupRetentionDays must be a whole number between 1 and 365, got ${retention}`);
    }
    this.instance = new SqlDatabaseInstance(this, 'Instance', {
      project: props.project,
      name: props.instanceName ?? 'gatehouse-state',
      region: props.region,
      databaseVersion: props.databaseVersion ?? 'POSTGRES_16',
      encryptionKeyName: props.kmsKeyName,
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
          // Encrypted connections only; client certificates are not required: clients prove who they
          // are with IAM tokens, and verify the server against its CA.
          sslMode: 'ENCRYPTED_ONLY',
          // The per-instance CA: its server certificate names the instance as `<project>:<instance>`
          // (see serverName) and `server_ca_cert` in state holds the CA to verify it with.
          serverCaMode: 'GOOGLE_MANAGED_INTERNAL_CA',
          enablePrivatePathForGoogleCloudServices: false,
        },
        backupConfiguration: {
          enabled: true,
          pointInTimeRecoveryEnabled: true,
          backupRetentionSettings: { retainedBackups: retention, retentionUnit: 'COUNT' },
        },
        databaseFlags: [
          // IAM database authentication: service accounts log in with OAuth tokens, no password
          // (https://cloud.google.com/sql/docs/postgres/iam-authentication, flag `cloudsql.iam_authentication`).
          { name: 'cloudsql.iam_authentication', value: 'on' },
          { name: 'log_connections', value: 'on' },
          { name: 'log_disconnections', value: 'on' },
        ],
      },
      dependsOn: [...(props.privateServicesConnection ? [props.privateServicesConnection] : []), ...(props.dependsOn ?? [])],
      lifecycle: { preventDestroy: true },
    });
    this.database = new SqlDatabase(this, 'Database', { project: props.project, name: databaseName, instance: this.instance.name });
  }

  /**
   * Makes the service account an IAM database user (`CLOUD_IAM_SERVICE_ACCOUNT`) allowed to log in
   * (`roles/cloudsql.instanceUser` on this instance only). For PostgreSQL the user name is the
   * email without `.gserviceaccount.com` (website/docs/r/sql_user.html.markdown, v6.50.0: "for
   * Postgres only, GCP requires omitting the \".gserviceaccount.com\" suffix"). It has no privilege
   * in the database until one is granted (the bootstrap job does).
   */
  public addIamServiceAccountUser(id: string, serviceAccountEmail: string, options: IamDatabaseUserOptions = {}): IamDatabaseUser {
    const roleName = Token.isUnresolved(serviceAccountEmail)
      ? Fn.trimsuffix(serviceAccountEmail, '.gserviceaccount.com')
      : serviceAccountEmail.replace(/\.gserviceaccount\.com$/, '');
    const user = new SqlUser(this, `${id}User`, {
      project: this.project,
      instance: this.instance.name,
      name: roleName,
      type: 'CLOUD_IAM_SERVICE_ACCOUNT',
    });
    if (options.databaseRoles && options.databaseRoles.length > 0) {
      // Not in the 6.50-generated bindings (see GOOGLE_PROVIDER_VERSION): Cloud SQL assigns the
      // roles at creation (sqladmin users.insert `databaseRoles`, resource_sql_user.go v7.18.0+).
      user.addOverride('database_roles', [...options.databaseRoles]);
      requireGoogleProvider(this);
    }
    const login = new ProjectIamMember(this, `${id}Login`, {
      project: this.project,
      role: 'roles/cloudsql.instanceUser',
      member: `serviceAccount:${serviceAccountEmail}`,
      condition: {
        title: 'gatehouse-state-only',
        description: 'Log in to the Gatehouse state instance only',
        expression: `resource.name == "projects/${this.project}/instances/${this.instance.name}" && resource.type == "sqladmin.googleapis.com/Instance"`,
      },
    });
    return { user, roleName, login };
  }

  /**
   * `postgresql://<role>@<private ip>:5432/<db>?sslmode=verify-full` for an IAM user: no password
   * (the client sends a fresh IAM token); the `@` inside the role name is percent-encoded (RFC 3986 userinfo).
   */
  public iamUrl(roleName: string): string {
    const user = Token.isUnresolved(roleName) ? Fn.replace(roleName, '@', '%40') : encodeURIComponent(roleName);
    return `postgresql://${user}@${this.privateIp}:5432/${this.databaseName}?sslmode=verify-full`;
  }

  /** The instance's server CA certificate (PEM), to verify the server with. */
  public get serverCaCertPem(): string {
    return this.instance.serverCaCert.get(0).cert;
  }

  /**
   * The name in the instance's server certificate under the per-instance CA: `<project>:<instance>`
   * (its subject CN; the certificate carries no IP or DNS name. Google's own connectors check the
   * CN against the instance connection name for such certificates:
   * GoogleCloudPlatform/cloud-sql-nodejs-connector src/socket.ts, validateCertificate).
   */
  public get serverName(): string {
    return `${this.project}:${this.instance.name}`;
  }

  /** Private IP address of the instance. */
  public get privateIp(): string {
    return this.instance.privateIpAddress;
  }
}

/**
 * Makes the stack require the google provider version the kit's overrides need. The version is
 * the kit's requirement, so it is set where the resources are, not left to each stack.
 */
export function requireGoogleProvider(scope: Construct): void {
  TerraformStack.of(scope).addOverride('terraform.required_providers.google.version', GOOGLE_PROVIDER_VERSION);
}
