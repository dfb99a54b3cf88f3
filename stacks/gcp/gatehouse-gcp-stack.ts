import { GoogleProvider } from '../../constructs/gcp/providers';
import { Annotations, TerraformOutput, TerraformStack, dependable } from 'cdktf';
import type { Construct } from 'constructs';
import { Gatehouse } from '../../constructs/gcp/gatehouse';
import { terraformOutputName as out } from '../../constructs/core/stack-outputs';
import { emittedConfigProblems } from '../gateway-config-check';
import { ImageBuildAccount } from '../../constructs/gcp/image-build-account';
import { ImageRepository } from '../../constructs/gcp/image-repository';
import { GoogleBetaProvider } from '../../constructs/gcp/service-agent';
import { ProjectServices } from '../../constructs/gcp/project-services';
import { PLACEHOLDER_PROJECT, type GcpSettings } from './settings';

/** APIs the foundation needs before anything else: the image repository, and Cloud Build to fill it. */
export const FOUNDATION_APIS = ['serviceusage.googleapis.com', 'cloudresourcemanager.googleapis.com', 'artifactregistry.googleapis.com', 'cloudbuild.googleapis.com', 'storage.googleapis.com', 'iam.googleapis.com'] as const;

/**
 * What must exist before the gateway image can be pushed: the APIs and the Artifact Registry
 * repository. Applied first (`<stackName>-foundation`), then the image is pushed, then the main
 * stack is applied (docs/gcp.md, "Deploy").
 */
export class GatehouseGcpFoundationStack extends TerraformStack {
  public readonly repository: ImageRepository;
  public readonly imageBuild: ImageBuildAccount;

  constructor(scope: Construct, id: string, settings: GcpSettings) {
    super(scope, id);
    new GoogleProvider(this, 'google', { project: settings.project, region: settings.region });
    const apis = new ProjectServices(this, 'Apis', { project: settings.project, services: FOUNDATION_APIS });
    this.repository = new ImageRepository(this, 'Images', { project: settings.project, location: settings.region });
    this.repository.repository.dependsOn = apis.services.map((s) => dependable(s));
    new TerraformOutput(this, out('imageRepository'), { value: `${settings.region}-docker.pkg.dev/${settings.project}/${this.repository.repositoryId}` });
    this.imageBuild = new ImageBuildAccount(this, 'ImageBuild', { project: settings.project, location: settings.region, repository: this.repository });
    this.imageBuild.account.dependsOn = apis.services.map((s) => dependable(s));
    this.imageBuild.sourceBucket.dependsOn = apis.services.map((s) => dependable(s));
    // For `gcloud builds submit --service-account … --gcs-source-staging-dir …` (docs/gcp.md, step 3).
    new TerraformOutput(this, out('imageBuildIdentity'), { value: this.imageBuild.account.email });
    new TerraformOutput(this, out('imageBuildSourceDir'), { value: this.imageBuild.sourceStagingDir });
  }
}

/** The Google Cloud reference deployment: one project with a complete Gatehouse. */
export class GatehouseGcpStack extends TerraformStack {
  public readonly gatehouse: Gatehouse;

  constructor(scope: Construct, id: string, settings: GcpSettings) {
    super(scope, id);
    if (settings.project === PLACEHOLDER_PROJECT) {
      Annotations.of(this).addWarning('gatehouse:gcp.project is the placeholder; set your project (and image) before `cdktf deploy` (docs/gcp.md)');
    }
    new GoogleProvider(this, 'google', { project: settings.project, region: settings.region });
    // For the service agents that customer-managed keys need (google_project_service_identity is beta only).
    if (settings.customerManagedKeys !== false) new GoogleBetaProvider(this, 'google-beta', { project: settings.project, region: settings.region });

    this.gatehouse = new Gatehouse(this, 'gatehouse', {
      project: settings.project,
      region: settings.region,
      image: settings.image,
      recordBucketName: settings.recordBucketName,
      issuers: settings.issuers,
      connections: settings.connections,
      recordRetentionDays: settings.recordRetentionDays,
      replicas: settings.replicas,
      size: settings.size,
      tcpProtocols: settings.tcpProtocols,
      clientCidrs: settings.clientCidrs,
      busyPollMicroseconds: settings.busyPollMicroseconds,
      alarmEmail: settings.alarmEmail,
      sshHostKey: settings.sshHostKey,
      tcpTls: settings.tcpTls,
      serveGateway: settings.serveGateway,
      customerManagedKeys: settings.customerManagedKeys,
      network: settings.network,
      database: settings.database,
      recordingMode: settings.recordingMode,
      adminGroups: settings.adminGroups,
    });

    const g = this.gatehouse;
    // The documents Cloud Run and the TCP instances run with, checked by the gateway's own parser at synth.
    this.node.addValidation({
      validate: () => [
        ...(g.gateway ? emittedConfigProblems(g.gateway.configYaml).map((p) => `Cloud Run gateway configuration: ${p}`) : []),
        ...(g.tcp ? emittedConfigProblems(g.tcp.configYaml).map((p) => `TCP instances' gateway configuration: ${p}`) : []),
      ],
    });
    if (g.gateway) new TerraformOutput(this, out('gatewayAddress'), { description: 'Internal ingress: reachable from the VPC only', value: g.gateway.uri });
    new TerraformOutput(this, out('gatewayIdentity'), { value: g.gatewayIdentity.email });
    new TerraformOutput(this, out('records'), { value: g.records.bucket.name });
    new TerraformOutput(this, out('signingKey'), { description: 'Verifiers fetch its public key (gatehouse verify)', value: g.keys.signingKeyReference });
    new TerraformOutput(this, out('credentials'), {
      description: 'Add a version to each (gcloud secrets versions add); until then only that connection fails',
      value: settings.connections.filter((c) => !c.secret && g.credentials.secrets.has(c.name)).map((c) => g.credentials.secrets.get(c.name)!.secretId),
    });
    if (g.stateBootstrap) new TerraformOutput(this, out('stateBootstrap'), { description: 'gcloud run jobs execute <this> --wait', value: g.stateBootstrap.job.name });
    if (g.tcp) new TerraformOutput(this, out('tcpAddress'), { description: `TCP protocols on ports ${g.tcp.ports.join(', ')}`, value: g.tcp.address });
    if (g.database) new TerraformOutput(this, out('databaseAddress'), { value: g.database.privateIp });
    for (const [name, federation] of g.federations) {
      new TerraformOutput(this, out('federation', name), { value: federation.provider.name });
    }
  }
}
