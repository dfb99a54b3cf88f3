import { SecretManagerSecret, SecretManagerSecretIamBinding, SecretManagerSecretIamMember } from './providers';
import { Lazy, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface UpstreamCredentialsProps {
  /** The only location the secrets' payloads are stored in (user-managed replication). */
  readonly region: string;
  /**
   * Connection names; each gets the secret `gatehouse-<name>` (underscores become dashes). The
   * operator adds the value as a version after deploy (`gcloud secrets versions add`).
   * @default none
   */
  readonly connections?: readonly string[];
  /**
   * Further secrets the gateway reads, by secret id.
   * @default none
   */
  readonly extraSecrets?: readonly string[];
  /**
   * Existing secrets by connection name (`projects/<p>/secrets/<id>`); the kit only adds the
   * reader role for its members on them, never removing the secret's other readers.
   * @default none
   */
  readonly existing?: Readonly<Record<string, string>>;
  /**
   * Cloud KMS key in `region` for customer-managed encryption of the created secrets (a replica's
   * key must be in the replica's location). The Secret Manager service agent
   * (`service-<number>@gcp-sa-secretmanager.iam.gserviceaccount.com`) must hold
   * `roles/cloudkms.cryptoKeyEncrypterDecrypter` on it first (`ServiceAgentKey` for
   * `secretmanager.googleapis.com`, which `Gatehouse` creates): pass that grant in `dependsOn`.
   * @default Google-managed encryption
   */
  readonly kmsKeyName?: string;
  /** What the created secrets must wait for (e.g. the service agent's grant on `kmsKeyName`). @default none */
  readonly dependsOn?: readonly ITerraformDependable[];
}

const CONNECTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ACCESSOR = 'roles/secretmanager.secretAccessor';

/**
 * One Secret Manager secret per upstream connection, stored only in `region` (user-managed
 * replication: automatic replication may place the payload in any Google region).
 *
 * On the secrets the kit creates, the accessor role is bound authoritatively
 * (`google_secret_manager_secret_iam_binding`) to exactly the members given to `addAccess`. On
 * secrets the user brings, it adds one `google_secret_manager_secret_iam_member` per member: a
 * binding there would strip every other reader of the user's secret on apply.
 */
export class UpstreamCredentials extends Construct {
  public readonly secrets: ReadonlyMap<string, SecretManagerSecret>;
  /** Secret resource ids (`projects/<p>/secrets/<id>`) by connection name or extra secret id. */
  public readonly secretIds: ReadonlyMap<string, string>;
  public readonly bindings: SecretManagerSecretIamBinding[] = [];
  /** Grants on secrets the user brought (non-authoritative). */
  public readonly memberGrants: SecretManagerSecretIamMember[] = [];
  private readonly readers: string[] = [];
  private readonly existing: ReadonlyArray<readonly [string, string]>;

  constructor(scope: Construct, id: string, props: UpstreamCredentialsProps) {
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
        // https://cloud.google.com/secret-manager/docs/choosing-replication: with `automatic` the
        // payload may be stored in any location; `user_managed` keeps it where it is listed.
        replication: {
          userManaged: { replicas: [{ location: props.region, ...(props.kmsKeyName ? { customerManagedEncryption: { kmsKeyName: props.kmsKeyName } } : {}) }] },
        },
        labels: { 'managed-by': 'gatehouse' },
        annotations: { description },
        deletionProtection: true,
        dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
      });
      secrets.set(key, secret);
      ids.set(key, secret.id);
      this.bindings.push(new SecretManagerSecretIamBinding(this, `Readers-${key}`, { secretId: secret.id, role: ACCESSOR, members }));
    };
    for (const name of props.connections ?? []) create(name, `gatehouse-${name.replace(/_/g, '-')}`, `Upstream credential of connection ${name}`);
    for (const extra of props.extraSecrets ?? []) create(extra, extra, 'Gatehouse gateway secret');
    this.existing = Object.entries(props.existing ?? {});
    for (const [name, secretId] of this.existing) ids.set(name, secretId);
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

  /**
   * Makes `member` (e.g. `serviceAccount:...`) a reader of every secret: the only reader of the
   * secrets the kit created, one more reader of the secrets the user brought.
   */
  public addAccess(member: string): void {
    const n = this.readers.length;
    this.readers.push(member);
    for (const [name, secretId] of this.existing) {
      this.memberGrants.push(new SecretManagerSecretIamMember(this, `Reader${n}-${name}`, { secretId, role: ACCESSOR, member }));
    }
  }

  /** Every IAM grant on the secrets (what the gateway must wait for). */
  public get grants(): readonly (SecretManagerSecretIamBinding | SecretManagerSecretIamMember)[] {
    return [...this.bindings, ...this.memberGrants];
  }
}
