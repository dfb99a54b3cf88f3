import { CloudRunV2Job, ServiceAccount } from './providers';
import { Fn, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { requireGoogleProvider, type IamDatabaseUser, type StateDatabase } from './state-database';

/** The schema holding the gateway's tables (the bootstrap creates it; the gateway's `state.schema`). */
export const STATE_SCHEMA = 'gatehouse';

/**
 * The database role Cloud SQL gives the bootstrap account when it creates its IAM user: the
 * role of the instance's administrators (https://cloud.google.com/sql/docs/postgres/users,
 * "cloudsqlsuperuser"), needed to create the schema and grant the gateway's role its privileges.
 * An IAM user has no privilege without it (https://cloud.google.com/sql/docs/postgres/add-manage-iam-users,
 * "grant database privileges"). The gateway's own user never gets it.
 */
export const BOOTSTRAP_DATABASE_ROLES = ['cloudsqlsuperuser'] as const;

/** The job's name (`run_execution_token` adds a suffix; the two together stay under 63 characters). */
export const BOOTSTRAP_JOB_NAME = 'gatehouse-bootstrap-state';

/** Length of the execution token: a prefix of a SHA-256 in hex (`[0-9a-f]`, valid in an execution name). */
export const EXECUTION_TOKEN_LENGTH = 20;

/**
 * Task retries. A retry covers IAM propagation: the account's login grant
 * (`roles/cloudsql.instanceUser`) is created just before, and IAM changes can take a while to be
 * seen by Cloud SQL (https://cloud.google.com/iam/docs/access-change-propagation).
 */
export const BOOTSTRAP_MAX_RETRIES = 5;

export interface StateBootstrapJobProps {
  readonly region: string;
  /** The gateway image, by digest (its change re-runs the job: see `job`). */
  readonly image: string;
  readonly database: StateDatabase;
  /** The gateway's IAM database user (the role the job prepares). */
  readonly appUser: IamDatabaseUser;
  readonly network: string;
  readonly subnetwork: string;
  /** Name of the environment variable holding the server CA (set here too). */
  readonly caEnvironmentVariable: string;
  /** @default none */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * The job that prepares the state database for the gateway, run by Terraform during the apply:
 * it runs `gatehouse bootstrap-state` as its own service account (an IAM database user with
 * `cloudsqlsuperuser`, distinct from the gateway's), which creates the gateway's schema and grants
 * the gateway's role exactly what it needs, idempotently. The gateway never holds these rights.
 *
 * `run_execution_token` makes the provider start an execution when it creates or updates the job
 * and wait until it succeeded ("The Job will become ready when the execution is successfully
 * completed": resource_cloud_run_v2_job.go, v7.42.0), so whatever depends on `job` (the gateway
 * service) is created only after the database is prepared, and a failed bootstrap fails the apply.
 * The token is derived from the image, the role and the schema: a new gateway image runs the
 * bootstrap again (schema changes), an unchanged one does not.
 */
export class StateBootstrapJob extends Construct {
  public readonly serviceAccount: ServiceAccount;
  public readonly job: CloudRunV2Job;
  /** The bootstrap account's IAM database user (with `cloudsqlsuperuser`). */
  public readonly admin: IamDatabaseUser;
  public readonly adminRole: string;

  constructor(scope: Construct, id: string, props: StateBootstrapJobProps) {
    super(scope, id);
    this.serviceAccount = new ServiceAccount(this, 'ServiceAccount', {
      accountId: 'gatehouse-state-admin',
      displayName: 'Gatehouse state bootstrap',
      description: 'Runs gatehouse bootstrap-state during each apply that changes the image; the gateway never runs as this account',
    });
    const db = props.database;
    this.admin = db.addIamServiceAccountUser('Admin', this.serviceAccount.email, { databaseRoles: BOOTSTRAP_DATABASE_ROLES });
    this.adminRole = this.admin.roleName;
    const adminUrl = db.iamUrl(this.admin.roleName);
    this.job = new CloudRunV2Job(this, 'Job', {
      name: BOOTSTRAP_JOB_NAME,
      location: props.region,
      deletionProtection: false,
      launchStage: 'GA',
      template: {
        taskCount: 1,
        parallelism: 1,
        template: {
          serviceAccount: this.serviceAccount.email,
          maxRetries: BOOTSTRAP_MAX_RETRIES,
          timeout: '600s',
          vpcAccess: { egress: 'PRIVATE_RANGES_ONLY', networkInterfaces: [{ network: props.network, subnetwork: props.subnetwork }] },
          containers: [{
            name: 'bootstrap',
            image: props.image,
            // verify-full as the gateway does: the instance's CA (an environment variable keeps the
            // PEM's lines intact) and the name its server certificate carries.
            args: ['bootstrap-state', '--admin-url', adminUrl, '--iam-auth', 'gcp-cloudsql', '--app-role', props.appUser.roleName,
              '--schema', STATE_SCHEMA, '--ca-cert', `env:${props.caEnvironmentVariable}`, '--server-name', db.serverName],
            env: [{ name: props.caEnvironmentVariable, value: db.serverCaCertPem }],
          }],
        },
      },
      // Everything the execution touches exists first: both IAM users, the bootstrap account's
      // login grant, and the database named in the URL (a plain string there, so no implicit edge).
      dependsOn: [this.admin.user, this.admin.login, props.appUser.user, db.database, ...(props.dependsOn ?? [])],
    });
    // Not in the 6.50-generated bindings (state-database.ts, GOOGLE_PROVIDER_VERSION).
    this.job.addOverride('run_execution_token', Fn.substr(Fn.sha256(Fn.join('|', [props.image, props.appUser.roleName, STATE_SCHEMA])), 0, EXECUTION_TOKEN_LENGTH));
    requireGoogleProvider(this);
  }
}
