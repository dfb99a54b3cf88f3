import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretIamBinding } from '@cdktf/provider-google/lib/secret-manager-secret-iam-binding';
import { Lazy, Token } from 'cdktf';
import { Construct } from 'constructs';

export interface UpstreamCredentialsProps {
  /**
   * Connection names; each gets the secret `gatehouse-<name>` (underscores become dashes). The
   * operator adds the value as a version after deploy (`gcloud secrets versions add`).
   * @default none
   */
  readonly connections?: readonly string[];
  /**
   * Further secrets the gateway reads (e.g. its signing key and database URL), by secret id.
   * @default none
   */
  readonly extraSecrets?: readonly string[];
  /**
   * Existing secrets by connection name (`projects/<p>/secrets/<id>`); the kit then only binds
   * the reader role on them.
   * @default none
   */
  readonly existing?: Readonly<Record<string, string>>;
  /**
   * Cloud KMS key for customer-managed encryption (automatic replication).
   * @default Google-managed encryption
   */
  readonly kmsKeyName?: string;
}

const CONNECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ACCESSOR = 'roles/secretmanager.secretAccessor';

/**
 * One Secret Manager secret per upstream connection. The accessor role on each secret is bound
 * authoritatively (`google_secret_manager_secret_iam_binding`) to exactly the members given to
 * `addAccess`: a member added elsewhere on the secret for that role is removed on the next apply.
 */
export class UpstreamCredentials extends Construct {
  public readonly secrets: ReadonlyMap<string, SecretManagerSecret>;
  /** Secret resource ids (`projects/<p>/secrets/<id>`) by connection name or extra secret id. */
  public readonly secretIds: ReadonlyMap<string, string>;
  public readonly bindings: SecretManagerSecretIamBinding[] = [];
  private readonly readers: string[] = [];

  constructor(scope: Construct, id: string, props: UpstreamCredentialsProps = {}) {
    super(scope, id);
    const names = [...(props.connections ?? []), ...Object.keys(props.existing ?? {})];
    const seen = new Set<string>();
    for (const name of names) {
      if (!Token.isUnresolved(name) && !CONNECTION_NAME.test(name)) {
        throw new Error(`UpstreamCredentials: connection name must be lowercase letters, digits, "-" and "_", got "${name}"`);
      }
      if (seen.has(name)) throw new Error(`UpstreamCredentials: connection "${name}" is given more than once`);
      seen.add(name);
    }
    const members = Lazy.listValue({ produce: () => this.readers });
    const secrets = new Map<string, SecretManagerSecret>();
    const ids = new Map<string, string>();
    const create = (key: string, secretId: string, description: string) => {
      const secret = new SecretManagerSecret(this, `Secret-${key}`, {
        secretId,
        replication: { auto: props.kmsKeyName ? { customerManagedEncryption: { kmsKeyName: props.kmsKeyName } } : {} },
        labels: { 'managed-by': 'gatehouse' },
        annotations: { description },
        deletionProtection: true,
      });
      secrets.set(key, secret);
      ids.set(key, secret.id);
      this.bindings.push(new SecretManagerSecretIamBinding(this, `Readers-${key}`, { secretId: secret.id, role: ACCESSOR, members }));
    };
    for (const name of props.connections ?? []) create(name, `gatehouse-${name.replace(/_/g, '-')}`, `Upstream credential of connection ${name}`);
    for (const extra of props.extraSecrets ?? []) create(extra, extra, 'Gatehouse gateway secret');
    for (const [name, secretId] of Object.entries(props.existing ?? {})) {
      ids.set(name, secretId);
      this.bindings.push(new SecretManagerSecretIamBinding(this, `Readers-${name}`, { secretId, role: ACCESSOR, members }));
    }
    this.secrets = secrets;
    this.secretIds = ids;

    this.node.addValidation({
      validate: () =>
        ids.size > 0 && this.readers.length === 0
          ? ['UpstreamCredentials: nobody can read the secrets; call addAccess(gatewayMember) so the gateway can use them']
          : [],
    });
  }

  /** The gateway's reference to one secret's latest version: `gcp-sm:projects/<p>/secrets/<id>/versions/latest`. */
  public referenceFor(key: string): string {
    const id = this.secretIds.get(key);
    if (!id) throw new Error(`UpstreamCredentials: no secret for "${key}"; known: ${[...this.secretIds.keys()].join(', ') || 'none'}`);
    return `gcp-sm:${id}/versions/latest`;
  }

  /** Makes `member` (e.g. `serviceAccount:...`) a reader of every secret, and the only kind there is. */
  public addAccess(member: string): void {
    this.readers.push(member);
  }
}
