import { ContainerAppJob } from './providers';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { GatewayIdentityRef } from './gateway-container-apps';
import type { ResourceGroupRef } from './resource-group-ref';

export interface StateBootstrapJobProps {
  readonly resourceGroup: ResourceGroupRef;
  /** The Container Apps environment (inside the VNet: the server has no public endpoint). */
  readonly environmentId: string;
  /** The same image as the gateway. */
  readonly image: string;
  /** Registry login server pulled from with `identity` (give it AcrPull). @default public image */
  readonly registryServer?: string;
  /** The bootstrap identity: the server's Entra administrator, never the gateway's identity. */
  readonly identity: GatewayIdentityRef;
  /** URL of the Entra administrator (`postgresql://<admin name>@<fqdn>:5432/<db>?sslmode=verify-full`). */
  readonly adminUrl: string;
  /** The gateway's role name (its managed identity's name) and principal (object) id. */
  readonly appRole: { readonly name: string; readonly principalId: string };
  /**
   * The schema the gateway keeps its tables in (the gateway's `state.schema` must say the same).
   * @default 'gatehouse'
   */
  readonly schema?: string;
  /**
   * When the job runs (cron, UTC). It is idempotent: the first run after deploy creates the role
   * and schema, later runs find them and change nothing (and re-create them if someone dropped
   * them).
   * @default every 5 minutes
   */
  readonly schedule?: string;
  /** What must exist before the job can run (the Entra administrator, the database). */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * The one-shot bootstrap of the state database, run unattended inside the VNet: a Container Apps
 * Job with the bootstrap identity running `gatehouse bootstrap-state`, which creates the gateway's
 * Entra role (`pgaadauth_create_principal_with_oid`) and its schema with least privilege. The
 * gateway fails closed (not ready) until its role exists, then turns ready.
 *
 * Scheduled rather than manual: azurerm creates a job but never starts it, so a manual job would
 * need an operator. The schedule makes `cdktf deploy` enough.
 */
export class StateBootstrapJob extends Construct {
  public readonly job: ContainerAppJob;
  /** The arguments given to the image's entrypoint (the `gatehouse` command). */
  public readonly args: readonly string[];

  constructor(scope: Construct, id: string, props: StateBootstrapJobProps) {
    super(scope, id);
    const rg = props.resourceGroup;
    this.args = [
      'bootstrap-state',
      '--admin-url', props.adminUrl,
      '--iam-auth', 'azure-entra',
      '--app-role', props.appRole.name,
      '--app-role-oid', props.appRole.principalId,
      '--schema', props.schema ?? 'gatehouse',
    ];
    this.job = new ContainerAppJob(this, 'Job', {
      name: 'gatehouse-bootstrap-state',
      resourceGroupName: rg.name,
      location: rg.location,
      containerAppEnvironmentId: props.environmentId,
      workloadProfileName: 'Consumption',
      replicaTimeoutInSeconds: 300,
      replicaRetryLimit: 1,
      scheduleTriggerConfig: { cronExpression: props.schedule ?? '*/5 * * * *', parallelism: 1, replicaCompletionCount: 1 },
      identity: { type: 'UserAssigned', identityIds: [props.identity.id] },
      registry: props.registryServer ? [{ server: props.registryServer, identity: props.identity.id }] : undefined,
      template: {
        container: [{
          name: 'bootstrap-state',
          image: props.image,
          cpu: 0.25,
          memory: '0.5Gi',
          // The image's entrypoint is the gateway's command; these are its arguments.
          args: [...this.args],
          env: [{ name: 'AZURE_CLIENT_ID', value: props.identity.clientId }],
        }],
      },
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });
  }
}
