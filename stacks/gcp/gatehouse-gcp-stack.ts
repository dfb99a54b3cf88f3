import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { Annotations, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { Gatehouse } from '../../constructs/gcp';
import { PLACEHOLDER_PROJECT, type GcpSettings } from './settings';

/** The Google Cloud reference deployment: one project with a complete Gatehouse. */
export class GatehouseGcpStack extends TerraformStack {
  public readonly gatehouse: Gatehouse;

  constructor(scope: Construct, id: string, settings: GcpSettings) {
    super(scope, id);
    if (settings.project === PLACEHOLDER_PROJECT) {
      Annotations.of(this).addWarning('gatehouse:gcp.project is the placeholder; set your project (and image) before `cdktf deploy` (docs/gcp.md)');
    }
    new GoogleProvider(this, 'google', { project: settings.project, region: settings.region });

    this.gatehouse = new Gatehouse(this, 'gatehouse', {
      region: settings.region,
      image: settings.image,
      recordBucketName: settings.recordBucketName,
      issuers: settings.issuers,
      connections: settings.connections,
      recordRetentionDays: settings.recordRetentionDays,
      instances: settings.instances,
      tcpProtocols: settings.tcpProtocols,
      clientCidrs: settings.clientCidrs,
      busyPollMicroseconds: settings.busyPollMicroseconds,
    });

    const g = this.gatehouse;
    new TerraformOutput(this, 'gateway_uri', { description: 'Internal ingress: reachable from the VPC only', value: g.gateway.uri });
    new TerraformOutput(this, 'gateway_service_account', { value: g.gateway.serviceAccountEmail });
    new TerraformOutput(this, 'record_bucket', { value: g.records.bucket.name });
    new TerraformOutput(this, 'secrets_to_fill', {
      description: 'Add a version to each (gcloud secrets versions add)',
      value: [...g.credentials.secrets.values()].map((s) => s.secretId),
    });
    if (g.tcp) new TerraformOutput(this, 'tcp_address', { description: `TCP protocols on ports ${g.tcp.ports.join(', ')}`, value: g.tcp.address });
    if (g.database) new TerraformOutput(this, 'database_private_ip', { value: g.database.privateIp });
    for (const [name, federation] of g.federations) {
      new TerraformOutput(this, `federation_provider_${name.replace(/-/g, '_')}`, { value: federation.provider.name });
    }
  }
}
