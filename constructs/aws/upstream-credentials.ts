import { Lazy, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface UpstreamCredentialsProps {
  /**
   * Connection names that get a new secret each (the operator puts the real value afterwards,
   * e.g. `aws secretsmanager put-secret-value`).
   * @default none
   */
  readonly create?: readonly string[];
  /**
   * Existing secrets by connection name.
   * @default none
   */
  readonly existing?: Readonly<Record<string, secretsmanager.ISecret>>;
  /**
   * Key that encrypts the created secrets.
   * @default a new KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
}

const CONNECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * One Secrets Manager secret per upstream connection, readable only by the principals given to
 * `grantRead` (the gateway's task role): created secrets carry a resource policy that denies
 * `GetSecretValue` to every other principal, administrators included.
 */
export class UpstreamCredentials extends Construct {
  public readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
  public readonly encryptionKey: kms.IKey;
  private readonly readers: string[] = [];
  private readonly created: secretsmanager.Secret[] = [];

  constructor(scope: Construct, id: string, props: UpstreamCredentialsProps = {}) {
    super(scope, id);
    const names = [...(props.create ?? []), ...Object.keys(props.existing ?? {})];
    const seen = new Set<string>();
    for (const name of names) {
      if (!Token.isUnresolved(name) && !CONNECTION_NAME.test(name)) {
        throw new Error(`UpstreamCredentials: connection name must be lowercase letters, digits, "-" and "_", got "${name}"`);
      }
      if (seen.has(name)) throw new Error(`UpstreamCredentials: connection "${name}" is given more than once`);
      seen.add(name);
    }

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: 'Gatehouse upstream credentials',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });

    const secrets = new Map<string, secretsmanager.ISecret>();
    for (const name of props.create ?? []) {
      const secret = new secretsmanager.Secret(this, `Secret-${name}`, {
        description: `Gatehouse upstream credential for connection "${name}"`,
        encryptionKey: this.encryptionKey,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyTheGatewayReads',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['secretsmanager:GetSecretValue'],
          resources: ['*'],
          conditions: {
            StringNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.readers }) },
          },
        }),
      );
      for (const id of ['AwsSolutions-SMG4', 'NIST.800.53.R5-SecretsManagerRotationEnabled']) {
        Validations.of(secret).acknowledge({
          id,
          reason:
            'Upstream credentials are API keys issued by third parties (e.g. an LLM vendor); no rotation function can mint them. Operators rotate them at the issuer and put the new value; the gateway re-reads on expiry of its cache.',
        });
      }
      this.created.push(secret);
      secrets.set(name, secret);
    }
    for (const [name, secret] of Object.entries(props.existing ?? {})) secrets.set(name, secret);
    this.secrets = secrets;

    this.node.addValidation({
      validate: () =>
        this.created.length > 0 && this.readers.length === 0
          ? ['UpstreamCredentials: created secrets have no reader; call grantRead(taskRole) so the gateway can use them']
          : [],
    });
  }

  /** The secret of one connection; throws if there is none. */
  public secretFor(connection: string): secretsmanager.ISecret {
    const secret = this.secrets.get(connection);
    if (!secret) {
      throw new Error(`UpstreamCredentials: no secret for connection "${connection}"; known: ${[...this.secrets.keys()].join(', ') || 'none'}`);
    }
    return secret;
  }

  /** The gateway's configuration reference to one connection's secret. */
  public referenceFor(connection: string): string {
    return `aws-sm:${this.secretFor(connection).secretArn}`;
  }

  /** Lets `role` read every secret; created secrets then refuse everyone else. */
  public grantRead(role: iam.IRole): void {
    this.readers.push(role.roleArn);
    for (const secret of this.secrets.values()) secret.grantRead(role);
  }
}
