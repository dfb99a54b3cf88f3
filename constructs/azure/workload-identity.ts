import { FederatedIdentityCredential, UserAssignedIdentity } from './providers';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import type { ResourceGroupRef } from './resource-group-ref';

/** An external OIDC issuer whose workloads may act as an identity. */
export interface FederatedIssuer {
  /** Issuer URL (https), e.g. `https://token.actions.githubusercontent.com`. */
  readonly issuer: string;
  /**
   * Exact subjects (Entra ID matches `sub` exactly: no wildcards), e.g.
   * `repo:acme/api:ref:refs/heads/main`. One federated credential each.
   */
  readonly subjects: readonly string[];
  /** @default ['api://AzureADTokenExchange'] */
  readonly audiences?: readonly string[];
}

export interface WorkloadIdentityProps {
  readonly resourceGroup: ResourceGroupRef;
  /** Identity name. */
  readonly name: string;
  /**
   * External issuers whose tokens may be exchanged for this identity.
   * @default none: only the Azure resource it is attached to can use it
   */
  readonly federatedIssuers?: readonly FederatedIssuer[];
}

/**
 * A user-assigned managed identity: the only way its holder reaches Azure (no keys, no
 * passwords). Role assignments are added by the resources it uses (`addAccess`).
 */
export class WorkloadIdentity extends Construct {
  public readonly identity: UserAssignedIdentity;
  public readonly federatedCredentials: FederatedIdentityCredential[] = [];

  constructor(scope: Construct, id: string, props: WorkloadIdentityProps) {
    super(scope, id);
    this.identity = new UserAssignedIdentity(this, 'Identity', {
      name: props.name,
      resourceGroupName: props.resourceGroup.name,
      location: props.resourceGroup.location,
    });
    let n = 0;
    for (const issuer of props.federatedIssuers ?? []) {
      if (!Token.isUnresolved(issuer.issuer) && !/^https:\/\/[^\s/]+(\/\S*)?$/.test(issuer.issuer)) {
        throw new Error(`WorkloadIdentity: issuer must be an https URL, got "${issuer.issuer}"`);
      }
      if (issuer.subjects.length === 0) {
        throw new Error(`WorkloadIdentity: issuer "${issuer.issuer}" needs at least one subject; an identity any token could use is refused`);
      }
      for (const subject of issuer.subjects) {
        if (!Token.isUnresolved(subject) && /[*?]/.test(subject)) {
          throw new Error(`WorkloadIdentity: subject "${subject}" has a wildcard; Entra ID matches subjects exactly, give each one`);
        }
        this.federatedCredentials.push(
          new FederatedIdentityCredential(this, `Federated${n}`, {
            name: `${props.name}-fic-${n}`,
            resourceGroupName: props.resourceGroup.name,
            parentId: this.identity.id,
            issuer: issuer.issuer,
            subject,
            audience: [...(issuer.audiences ?? ['api://AzureADTokenExchange'])],
          }),
        );
        n++;
      }
    }
  }

  /** Principal (object) id for role assignments. */
  public get principalId(): string {
    return this.identity.principalId;
  }

  /** Client id: what the workload names to Azure SDKs (`AZURE_CLIENT_ID`). */
  public get clientId(): string {
    return this.identity.clientId;
  }
}
