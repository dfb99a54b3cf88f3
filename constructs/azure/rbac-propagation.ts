import type { RoleAssignment } from './providers';
import { TerraformResource } from 'cdktf';
import { Construct } from 'constructs';

export interface RbacPropagationProps {
  /** The role assignments to wait for. */
  readonly assignments: readonly RoleAssignment[];
  /**
   * How long to wait once they are created.
   * @default 120
   */
  readonly seconds?: number;
}

/**
 * A pause after role assignments, before what needs them. Azure RBAC is eventually consistent:
 * a new assignment can take minutes to reach the data plane ("Troubleshoot Azure RBAC: role
 * assignment changes are not being detected", learn.microsoft.com/azure/role-based-access-control/
 * troubleshooting), and azurerm 4.55 does not retry a 403: key_vault_key_resource.go
 * (resourceKeyVaultKeyCreate: CreateKey fails the apply on the first error), and a storage account
 * or PostgreSQL server whose identity cannot yet unwrap its customer-managed key fails to create.
 *
 * Terraform's built-in `terraform_data` (no provider to install) with a `local-exec` sleep that runs
 * when the assignments are created or replaced, never on later applies. Needs a POSIX `sleep` on
 * the deploying machine (Linux, macOS, WSL, Cloud Shell).
 */
export class RbacPropagation extends Construct {
  public readonly wait: TerraformResource;

  constructor(scope: Construct, id: string, props: RbacPropagationProps) {
    super(scope, id);
    const seconds = props.seconds ?? 120;
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 1800) {
      throw new Error(`RbacPropagation: seconds must be a whole number from 0 to 1800, got ${seconds}`);
    }
    this.wait = new TerraformResource(this, 'Wait', {
      terraformResourceType: 'terraform_data',
      provisioners: [{ type: 'local-exec', command: `sleep ${seconds}` }],
      dependsOn: [...props.assignments],
    });
    this.wait.addOverride('triggers_replace', props.assignments.map((a) => a.id));
  }
}
