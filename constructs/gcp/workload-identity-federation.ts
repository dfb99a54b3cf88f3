import { IamWorkloadIdentityPool, IamWorkloadIdentityPoolProvider } from './providers';
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
   * The exact token subjects (`sub`) admitted, e.g. `repo:acme/audit:ref:refs/heads/main`. The
   * provider's attribute condition admits these and nothing else, and `principals` names each one:
   * a condition on the organization alone (`assertion.repository_owner == 'acme'`) would admit
   * every repository and branch of it.
   */
  readonly subjects: readonly string[];
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
 * tokens: a Workload Identity Pool and an OIDC provider whose attribute condition admits exact
 * subjects only. Grant them what they need through `principals` (e.g. read the record).
 */
export class WorkloadIdentityFederation extends Construct {
  public readonly pool: IamWorkloadIdentityPool;
  public readonly provider: IamWorkloadIdentityPoolProvider;
  public readonly subjects: readonly string[];
  /** The CEL condition admitting exactly `subjects`. */
  public readonly attributeCondition: string;

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
    if (props.subjects.length === 0) {
      throw new Error('WorkloadIdentityFederation: subjects must name at least one exact subject; without one any token of the issuer is accepted');
    }
    for (const subject of props.subjects) {
      if (Token.isUnresolved(subject)) continue;
      if (subject.length === 0 || /[*?'\\\n]/.test(subject)) {
        throw new Error(`WorkloadIdentityFederation: subject "${subject}" must be an exact subject (no wildcard, quote, backslash or newline)`);
      }
    }
    this.subjects = [...props.subjects];
    this.attributeCondition = exactSubjectsCondition(this.subjects);
    this.pool = new IamWorkloadIdentityPool(this, 'Pool', {
      workloadIdentityPoolId: props.poolId,
      displayName: props.poolId,
      description: `Workloads of ${props.issuerUrl}`,
    });
    this.provider = new IamWorkloadIdentityPoolProvider(this, 'Provider', {
      workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: props.providerId,
      attributeCondition: this.attributeCondition,
      attributeMapping: { 'google.subject': 'assertion.sub', ...(props.attributeMapping ?? {}) },
      oidc: { issuerUri: props.issuerUrl, allowedAudiences: props.audiences ? [...props.audiences] : undefined },
    });
  }

  /**
   * One IAM member per admitted subject (`principal://iam.googleapis.com/<pool>/subject/<sub>`,
   * https://cloud.google.com/iam/docs/principal-identifiers): grants name exact workloads, never the pool.
   */
  public get principals(): string[] {
    return this.subjects.map((subject) => `principal://iam.googleapis.com/${this.pool.name}/subject/${subject}`);
  }
}

/**
 * `assertion.sub in ['a', 'b']` (CEL, https://cloud.google.com/iam/docs/workload-identity-federation#conditions).
 * Subjects were checked to hold no quote or backslash, so single quotes delimit them safely.
 */
export function exactSubjectsCondition(subjects: readonly string[]): string {
  return subjects.length === 1 ? `assertion.sub == '${subjects[0]}'` : `assertion.sub in [${subjects.map((s) => `'${s}'`).join(', ')}]`;
}
