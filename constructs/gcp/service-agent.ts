import { KmsCryptoKeyIamMember } from './providers';
import { TerraformProvider, TerraformResource, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { GOOGLE_PROVIDER_VERSION } from './state-database';

export interface ServiceAgentKeyProps {
  readonly project: string;
  /** The API whose service agent encrypts with the key, e.g. `sqladmin.googleapis.com`. */
  readonly service: string;
  /** The Cloud KMS key (`projects/…/cryptoKeys/<name>`) the agent encrypts and decrypts with. */
  readonly cryptoKeyId: string;
}

/**
 * A Google service's agent (`service-<number>@gcp-sa-<service>.iam.gserviceaccount.com`) made to
 * exist and allowed to use one Cloud KMS key: what customer-managed encryption of Secret Manager
 * secrets and Cloud SQL instances needs before the secret or instance is created.
 *
 * Such an agent exists only once something asks for it (`gcloud beta services identity create`,
 * API `services.generateServiceIdentity`); granting a role to one that does not exist fails. In
 * Terraform that call is `google_project_service_identity`, which is in the google-beta provider
 * only (website/docs/r/project_service_identity.html.markdown, v7.42.0: "These resources are in
 * beta, and should be used with the terraform-provider-google-beta provider"; the GA build
 * compiles google/services/resourcemanager/resource_project_service_identity.go to nothing). The
 * prebuilt bindings are GA-only, so the resource is declared here by its type name, on the
 * `google-beta` provider: the stack must hold a `GoogleBetaProvider` (cdktf refuses to synthesize
 * a resource whose provider the stack lacks).
 */
export class ServiceAgentKey extends Construct {
  public readonly identity: TerraformResource;
  /** The agent's use of the key: whatever is encrypted with it must depend on this. */
  public readonly grant: KmsCryptoKeyIamMember;

  constructor(scope: Construct, id: string, props: ServiceAgentKeyProps) {
    super(scope, id);
    this.identity = new TerraformResource(this, 'Identity', {
      terraformResourceType: 'google_project_service_identity',
      terraformGeneratorMetadata: { providerName: 'google-beta' },
    });
    this.identity.addOverride('provider', 'google-beta');
    this.identity.addOverride('project', props.project);
    this.identity.addOverride('service', props.service);
    requireGoogleBetaProvider(this);
    this.grant = new KmsCryptoKeyIamMember(this, 'UsesKey', {
      cryptoKeyId: props.cryptoKeyId,
      role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
      member: this.member,
    });
  }

  /** `serviceAccount:<agent email>`. */
  public get member(): string {
    return this.identity.getStringAttribute('member');
  }
}

/** Makes the stack require the google-beta provider (same versions as the GA one the kit needs). */
export function requireGoogleBetaProvider(scope: Construct): void {
  TerraformStack.of(scope).addOverride('terraform.required_providers.google-beta', { source: 'hashicorp/google-beta', version: GOOGLE_PROVIDER_VERSION });
}

export interface GoogleBetaProviderConfig {
  /** @default the provider's own (credentials and project from the environment) */
  readonly project?: string;
  readonly region?: string;
}

/**
 * The google-beta provider (hashicorp/google-beta), for what the GA provider lacks: the service
 * agents of `ServiceAgentKey`. CDKTF publishes no prebuilt google-beta bindings, so this declares
 * the provider by name; create it in the stack beside the GA `GoogleProvider`, as any provider.
 */
export class GoogleBetaProvider extends TerraformProvider {
  constructor(scope: Construct, id: string, private readonly config: GoogleBetaProviderConfig = {}) {
    super(scope, id, {
      terraformResourceType: 'google-beta',
      terraformGeneratorMetadata: { providerName: 'google-beta', providerVersionConstraint: GOOGLE_PROVIDER_VERSION },
      terraformProviderSource: 'hashicorp/google-beta',
    });
  }

  protected override synthesizeAttributes(): { [name: string]: unknown } {
    return { project: this.config.project, region: this.config.region };
  }
}
