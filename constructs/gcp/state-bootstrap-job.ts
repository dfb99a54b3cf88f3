import { CloudRunV2Job } from '@cdktf/provider-google/lib/cloud-run-v2-job';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { StateDatabase } from './state-database';

/** The schema holding the gateway's tables (the bootstrap creates it; the gateway's `state.schema`). */
export const STATE_SCHEMA = 'gatehouse';

export interface StateBootstrapJobProps {
  readonly region: string;
  readonly image: string;
  readonly database: StateDatabase;
  /** The gateway's database role (its IAM user name). */
  readonly appRole: string;
  readonly network: string;
  readonly subnetwork: string;
  /** Name of the environment variable holding the server CA (set here too). */
  readonly caEnvironmentVariable: string;
  /** @default none */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * The one-shot job that prepares the state database for the gateway: it runs
 * `gatehouse bootstrap-state` as its own service account (an IAM database user distinct from the
 * gateway's), which creates the gateway's schema and grants the gateway's role exactly what it
 * needs, idempotently. The gateway never holds the administrator's rights.
 *
 * Terraform creates the job but cannot run it: the GA provider (6.50) has no execution trigger on
 * `google_cloud_run_v2_job` (`run_execution_token` exists only in google-beta), so docs/gcp.md runs
 * it with `gcloud run jobs execute gatehouse-bootstrap-state --wait` before the gateway is served.
 */
export class StateBootstrapJob extends Construct {
  public readonly serviceAccount: ServiceAccount;
  public readonly job: CloudRunV2Job;
  public readonly adminRole: string;

  constructor(scope: Construct, id: string, props: StateBootstrapJobProps) {
    super(scope, id);
    this.serviceAccount = new ServiceAccount(this, 'ServiceAccount', {
      accountId: 'gatehouse-state-admin',
      displayName: 'Gatehouse state bootstrap',
      description: 'Runs gatehouse bootstrap-state once per schema change; the gateway never runs as this account',
    });
    const admin = props.database.addIamServiceAccountUser('Admin', this.serviceAccount.email);
    this.adminRole = admin.roleName;
    const db = props.database;
    const adminUrl = db.iamUrl(admin.roleName);
    this.job = new CloudRunV2Job(this, 'Job', {
      name: 'gatehouse-bootstrap-state',
      location: props.region,
      deletionProtection: false,
      launchStage: 'GA',
      template: {
        taskCount: 1,
        parallelism: 1,
        template: {
          serviceAccount: this.serviceAccount.email,
          maxRetries: 1,
          timeout: '600s',
          vpcAccess: { egress: 'PRIVATE_RANGES_ONLY', networkInterfaces: [{ network: props.network, subnetwork: props.subnetwork }] },
          containers: [{
            name: 'bootstrap',
            image: props.image,
            // verify-full as the gateway does: the instance's CA (an environment variable keeps the
            // PEM's lines intact) and the name its server certificate carries.
            args: ['bootstrap-state', '--admin-url', adminUrl, '--iam-auth', 'gcp-cloudsql', '--app-role', props.appRole,
              '--schema', STATE_SCHEMA, '--ca-cert', `env:${props.caEnvironmentVariable}`, '--server-name', db.serverName],
            env: [{ name: props.caEnvironmentVariable, value: db.serverCaCertPem }],
          }],
        },
      },
      dependsOn: [admin.user, ...(props.dependsOn ?? [])],
    });
  }
}
