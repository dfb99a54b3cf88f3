import { AzurermProvider, DataAzurermClientConfig, ResourceGroup } from '../../constructs/azure/providers';
import { Annotations, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { Gatehouse } from '../../constructs/azure/gatehouse';
import { terraformOutputName as out } from '../../constructs/core/stack-outputs';
import { emittedConfigProblems } from '../gateway-config-check';
import { PLACEHOLDER_DEPLOYER_CIDR, PLACEHOLDER_IMAGE, type AzureSettings } from './settings';

/** The Azure reference deployment: one resource group with a complete Gatehouse. */
export class GatehouseAzureStack extends TerraformStack {
  public readonly gatehouse: Gatehouse;

  constructor(scope: Construct, id: string, settings: AzureSettings) {
    super(scope, id);
    if (settings.image === PLACEHOLDER_IMAGE) {
      Annotations.of(this).addWarning('gatehouse:azure.image is the placeholder; push the image to your registry and set image and registry before `cdktf deploy` (docs/azure.md)');
    }
    if (settings.deployerCidrs.includes(PLACEHOLDER_DEPLOYER_CIDR)) {
      Annotations.of(this).addWarning(`gatehouse:azure.deployerCidrs holds the placeholder ${PLACEHOLDER_DEPLOYER_CIDR}; set your public address (curl -s https://api.ipify.org) before \`cdktf deploy\` (docs/azure.md)`);
    }
    new AzurermProvider(this, 'azurerm', {
      features: [{
        keyVault: [{ purgeSoftDeleteOnDestroy: false, recoverSoftDeletedKeyVaults: true }],
        // The record account has no public network access: its blob/queue/file data planes answer
        // 403 from the deploying machine. With the default (true) azurerm 4.55 polls them after
        // creating the account and on every read (storage_account_resource.go: `if
        // !features.FivePointOh() && dataPlaneAvailable` → waitForDataPlaneToBecomeAvailableForAccount,
        // storage_account_data_plane_helpers.go, where only connection errors are tolerated, not
        // 403), so the first apply fails. false keeps the provider on Resource Manager only.
        storage: [{ dataPlaneAvailable: false }],
      }],
      subscriptionId: settings.subscriptionId,
      // The record account has shared keys disabled: should the provider touch storage data, it
      // must use Entra ID.
      storageUseAzuread: true,
    });
    const client = new DataAzurermClientConfig(this, 'client', {});
    const group = new ResourceGroup(this, 'group', { name: settings.resourceGroupName, location: settings.location });

    this.gatehouse = new Gatehouse(this, 'gatehouse', {
      resourceGroup: { id: group.id, name: group.name, location: group.location },
      tenantId: client.tenantId,
      image: settings.image,
      registry: settings.registry,
      deployerCidrs: settings.deployerCidrs,
      deployerPrincipalId: client.objectId,
      issuers: settings.issuers,
      connections: settings.connections,
      recordRetentionDays: settings.recordRetentionDays,
      replicas: settings.replicas,
      size: settings.size,
      tcpProtocols: settings.tcpProtocols,
      clientCidrs: settings.clientCidrs,
      logRetentionDays: settings.logRetentionDays,
      alarmEmail: settings.alarmEmail,
      sshHostKey: settings.sshHostKey,
      tcpTls: settings.tcpTls,
      network: settings.network,
      database: settings.database,
      customerManagedKeys: settings.customerManagedKeys,
      busyPollMicroseconds: settings.busyPollMicroseconds,
      recordingMode: settings.recordingMode,
      adminGroups: settings.adminGroups,
    });

    const g = this.gatehouse;
    // The document every app runs with, checked by the gateway's own parser at synth.
    this.node.addValidation({ validate: () => emittedConfigProblems(g.gateway.configYaml).map((p) => `gateway configuration: ${p}`) });
    new TerraformOutput(this, out('gatewayAddress'), { description: 'HTTPS endpoint inside the VNet', value: g.gateway.fqdnOf('http') });
    new TerraformOutput(this, out('adminAddress'), { value: g.gateway.fqdnOf('admin') });
    new TerraformOutput(this, out('records'), { value: `${g.records.blobEndpoint}${g.records.container.name}` });
    new TerraformOutput(this, out('credentials'), { description: 'Put each connection\'s credential here (gatehouse-<connection>)', value: g.credentials.vaultName });
    new TerraformOutput(this, out('signingKey'), { description: 'Record-signing key (for gatehouse verify)', value: g.signingKey.versionlessId });
    new TerraformOutput(this, out('gatewayIdentity'), { value: g.gatewayIdentity.clientId });
    if (g.database) new TerraformOutput(this, out('databaseAddress'), { value: g.database.fqdn });
    if (g.stateBootstrap) new TerraformOutput(this, out('stateBootstrap'), { description: 'az containerapp job start -n <this> (it also runs every 5 minutes)', value: g.stateBootstrap.job.name });
    for (const [name, identity] of g.federations) {
      new TerraformOutput(this, out('federation', name), { value: identity.clientId });
    }
  }
}
