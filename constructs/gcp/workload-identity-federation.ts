import { IamWorkloadIdentityPool } from '@cdktf/provider-google/lib/iam-workload-identity-pool';
import { IamWorkloadIdentityPoolProvider } from '@cdktf/provider-google/lib/iam-workload-identity-pool-provider';
import { Token } from 'cdktf';
import { Construct } from 'constructs';

export interface WorkloadIdentityFederationProps {
  /** Pool id (4-32 lowercase letters, digits and dashes). */
  readonly poolId: string;
  /** Provider id within the pool. */
  readonly providerId: string;
  /** Issuer URL (https), e.g. `https://token.actions.githubusercontent.com`. */
  readonly issuerUrl: string;
  /**
   * CEL condition every token must satisfy, e.g.
   * `assertion.repository_owner == 'acme'`. Required: a provider without one would accept every
   * token the issuer mints for anyone (for GitHub, every repository on github.com).
   */
  readonly attributeCondition: string;
  /**
   * Accepted audiences.
   * @default the provider's full resource name (Google's default)
   */
  readonly audiences?: readonly string[];
  /**
   * Attribute mapping.
   * @default { 'google.subject': 'assertion.sub' }
   */
  readonly attributeMapping?: Readonly<Record<string, string>>;
}

/**
 * Lets outside workloads (e.g. GitHub Actions jobs) act in Google Cloud with their own OIDC
 * tokens: a Workload Identity Pool and an OIDC provider with a mandatory attribute condition.
 * Grant the pool's principals what they need through `principalSet` (e.g. read the record).
 */
export class WorkloadIdentityFederation extends Construct {
  public readonly pool: IamWorkloadIdentityPool;
  public readonly provider: IamWorkloadIdentityPoolProvider;

  constructor(scope: Construct, id: string, props: WorkloadIdentityFederationProps) {
    super(scope, id);
    for (const [what, value] of [['poolId', props.poolId], ['providerId', props.providerId]] as const) {
      if (!Token.isUnresolved(value) && !/^[a-z0-9-]{4,32}$/.test(value)) {
        throw new Error(`WorkloadIdentityFederation: ${what} must be 4-32 lowercase letters, digits and dashes, got "${value}"`);
      }
    }
    if (!Token.isUnresolved(props.issuerUrl) && !/^https:\/\/[^\s/]+(\/\S*)?$/.test(props.issuerUrl)) {
      throw new Error(`WorkloadIdentityFederation: issuerUrl must be an https URL, got "${props.issuerUrl}"`);
    }
    if (!Token.isUnresolved(props.attributeCondition) && props.attributeCondition.trim().length === 0) {
      throw new Error('WorkloadIdentityFederation: attributeCondition must not be empty; without one any token of the issuer is accepted');
    }
    this.pool = new IamWorkloadIdentityPool(this, 'Pool', {
      workloadIdentityPoolId: props.poolId,
      displayName: props.poolId,
      description: `Workloads of ${props.issuerUrl}`,
    });
    this.provider = new IamWorkloadIdentityPoolProvider(this, 'Provider', {
      workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: props.providerId,
      attributeCondition: props.attributeCondition,
      attributeMapping: { 'google.subject': 'assertion.sub', ...(props.attributeMapping ?? {}) },
      oidc: { issuerUri: props.issuerUrl, allowedAudiences: props.audiences ? [...props.audiences] : undefined },
    });
  }

  /** IAM member for every identity of this pool (narrowed by the provider's condition). */
  public get principalSet(): string {
    return `principalSet://iam.googleapis.com/${this.pool.name}/*`;
  }
}
