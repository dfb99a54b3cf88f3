/**
 * One output vocabulary across clouds (issue 17, point 8): what a user reads after a deploy of a
 * reference stack (stacks/aws, stacks/azure, stacks/gcp) and what the docs tell them to read.
 * Each concept is named once here, in camelCase; the name each tool shows is derived from it:
 * CloudFormation output ids are alphanumeric PascalCase (`GatewayAddress`, `FederationCi`),
 * Terraform outputs snake_case (`gateway_address`, `federation_ci`). The value may differ in kind
 * per cloud (a DNS name vs a URI) as long as it is the same concept; the notes say what each is.
 *
 * test/constructs/core/vocabulary.test.ts synthesizes the three stacks and fails when one has an
 * output this table does not derive for it.
 */
export type OutputCloud = 'aws' | 'azure' | 'gcp';

/** `single`: one output; `perName`: one per connection or federation, `<concept><Name>`. */
export type OutputShape = 'single' | 'perName';

export interface StackOutputConcept {
  /** The shape of the output on each cloud that has it; a cloud left out has none. */
  readonly on: Partial<Record<OutputCloud, OutputShape>>;
  /** What the value is, per cloud. */
  readonly note: string;
}

export const STACK_OUTPUTS = {
  gatewayAddress: { on: { aws: 'single', azure: 'single', gcp: 'single' },
    note: 'where agents reach the gateway: AWS the internal load balancer DNS name (HTTP 443, admin 9443); Azure the HTTPS FQDN inside the VNet; Google Cloud the internal-ingress Cloud Run URI' },
  adminAddress: { on: { azure: 'single' },
    note: 'Azure: FQDN of the admin app (on AWS the admin port is on gatewayAddress; on Google Cloud it is not exposed)' },
  tcpAddress: { on: { gcp: 'single' }, note: 'Google Cloud: internal address of the TCP-protocol instances' },
  records: { on: { aws: 'single', azure: 'single', gcp: 'single' },
    note: 'where records are written: S3 bucket name; blob container URL; Cloud Storage bucket name' },
  signingKey: { on: { aws: 'single', azure: 'single', gcp: 'single' },
    note: 'record-signing key for gatehouse verify: KMS key ARN; Key Vault versionless key id; Cloud KMS key reference' },
  credentials: { on: { aws: 'perName', azure: 'single', gcp: 'single' },
    note: 'where connection credentials are put: AWS one Secrets Manager ARN per connection; Azure the Key Vault name (secrets gatehouse-<connection>); Google Cloud the list of Secret Manager ids still to fill' },
  federation: { on: { aws: 'perName', azure: 'perName', gcp: 'perName' },
    note: 'one per federation: IAM role ARN; managed identity client id; workload identity provider name' },
  gatewayIdentity: { on: { aws: 'single', azure: 'single', gcp: 'single' },
    note: 'the identity the gateway runs as: AWS the ECS task role ARN; Azure managed identity client id; Google Cloud service account email' },
  stateBootstrap: { on: { azure: 'single', gcp: 'single' },
    note: 'the job that creates the state database schema: Container Apps job name; Cloud Run job name' },
  databaseAddress: { on: { azure: 'single', gcp: 'single' },
    note: 'the state database: PostgreSQL flexible server FQDN; Cloud SQL private IP' },
  imageRepository: { on: { gcp: 'single' }, note: 'Google Cloud foundation stack: Artifact Registry path to push the image to' },
  imageBuildIdentity: { on: { gcp: 'single' }, note: 'Google Cloud foundation stack: service account email for gcloud builds submit' },
  imageBuildSourceDir: { on: { gcp: 'single' }, note: 'Google Cloud foundation stack: gs:// staging dir for gcloud builds submit' },
} as const satisfies Record<string, StackOutputConcept>;

export type StackOutput = keyof typeof STACK_OUTPUTS;

const words = (s: string) => s.split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/).filter(Boolean);
const pascal = (s: string) => words(s).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
const snake = (s: string) => words(s).map((w) => w.toLowerCase()).join('_');

/** The CloudFormation output id (alphanumeric): `GatewayAddress`, `outputId('federation', 'ci-runner')` = `FederationCiRunner`. */
export function cfnOutputId(concept: StackOutput, name?: string): string {
  return pascal(concept) + (name === undefined ? '' : pascal(name));
}

/** The Terraform output name (snake_case): `gateway_address`, `federation_ci_runner`. */
export function terraformOutputName(concept: StackOutput, name?: string): string {
  return snake(concept) + (name === undefined ? '' : `_${snake(name)}`);
}
