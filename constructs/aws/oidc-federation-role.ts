import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface OidcFederationRoleProps {
  /** Issuer URL, e.g. `https://token.actions.githubusercontent.com`. */
  readonly issuerUrl: string;
  /**
   * The exact subjects (`sub`, compared with `StringEquals`) admitted, e.g.
   * `repo:acme/api:ref:refs/heads/main`. At least one; `*` and `?` are refused, so no pattern
   * ever admits a repository or branch nobody named.
   */
  readonly subjects: readonly string[];
  /**
   * Accepted audiences (`aud`).
   * @default ['sts.amazonaws.com']
   */
  readonly audiences?: readonly string[];
  /**
   * An existing IAM OIDC provider for this issuer (IAM allows one per issuer URL per account, so
   * an account that already federates GitHub Actions must reuse its provider), e.g.
   * `iam.OidcProviderNative.fromOidcProviderArn(...)`.
   * @default a new provider
   */
  readonly provider?: iam.IOidcProvider;
  /**
   * Longest session the role grants.
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
}

/**
 * Lets outside workloads (e.g. GitHub Actions jobs) obtain short-lived AWS credentials through
 * their own OIDC tokens: an IAM OIDC provider and a role whose trust policy pins audience and
 * subject. The role starts with no permissions; grant what the workload needs (for example
 * `logBucket.grantRead(role)` to verify records).
 */
export class OidcFederationRole extends Construct {
  public readonly provider: iam.IOidcProvider;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: OidcFederationRoleProps) {
    super(scope, id);
    const url = props.issuerUrl;
    if (!Token.isUnresolved(url) && !/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(url)) {
      throw new Error(`OidcFederationRole: issuerUrl must be an https URL, got "${url}"`);
    }
    if (props.subjects.length === 0) {
      throw new Error('OidcFederationRole: subjects must name at least one exact subject; a role any token could assume is refused');
    }
    for (const subject of props.subjects) {
      if (!Token.isUnresolved(subject) && (subject === '' || /[*?]/.test(subject))) {
        throw new Error(`OidcFederationRole: subject "${subject}" is empty or has a wildcard; give exact subjects (e.g. "repo:acme/api:ref:refs/heads/main")`);
      }
    }
    const audiences = props.audiences ?? ['sts.amazonaws.com'];
    if (audiences.length === 0) throw new Error('OidcFederationRole: audiences must not be empty');

    this.provider =
      props.provider ??
      new iam.OidcProviderNative(this, 'Provider', { url, clientIds: [...audiences] });

    const host = Token.isUnresolved(url) ? this.provider.oidcProviderIssuer : url.replace(/^https:\/\//, '').replace(/\/$/, '');
    this.role = new iam.Role(this, 'Role', {
      description: `Federated role for workloads of ${Token.isUnresolved(url) ? 'an OIDC issuer' : url}`,
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
      assumedBy: new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: {
          [`${host}:aud`]: audiences.length === 1 ? audiences[0] : [...audiences],
          [`${host}:sub`]: props.subjects.length === 1 ? props.subjects[0] : [...props.subjects],
        },
      }),
    });
    Validations.of(this.role).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'The policy is generated from grants for this one federated role and attached to it alone; a reusable managed policy could be attached to other principals and widen who holds these permissions.',
    });
  }
}
