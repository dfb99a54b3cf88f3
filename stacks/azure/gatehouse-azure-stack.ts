import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { Annotations, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { AZURE_SECRET_NAMES, Gatehouse } from '../../constructs/azure';
import { PLACEHOLDER_IMAGE, type AzureSettings } from './settings';

/** The Azure reference deployment: one resource group with a complete Gatehouse. */
export class GatehouseAzureStack extends TerraformStack {
  public readonly gatehouse: Gatehouse;

  constructor(scope: Construct, id: string, settings: AzureSettings) {
    super(scope, id);
    if (settings.image === PLACEHOLDER_IMAGE) {
      Annotations.of(this).addWarning('gatehouse:azure.image is the placeholder; push the image to your registry and set it before `cdktf deploy` (docs/azure.md)');
    }
    new AzurermProvider(this, 'azurerm', {
      features: [{ keyVault: [{ purgeSoftDeleteOnDestroy: false, recoverSoftDeletedKeyVaults: true }] }],
      subscriptionId: settings.subscriptionId,
      // The record account has shared keys disabled: the provider must use Entra ID for storage.
      storageUseAzuread: true,
    });
    const client = new DataAzurermClientConfig(this, 'client', {});
    const group = new ResourceGroup(this, 'group', { name: settings.resourceGroupName, location: settings.location });
    const dbPassword = new TerraformVariable(this, 'database_admin_password', {
      type: 'string',
      sensitive: true,
      nullable: false,
      description: 'Administrator password of the state database (TF_VAR_database_admin_password)',
    });

    this.gatehouse = new Gatehouse(this, 'gatehouse', {
      resourceGroup: { id: group.id, name: group.name, location: group.location },
      tenantId: client.tenantId,
      image: settings.image,
      registry: settings.registry,
      issuers: settings.issuers,
      connections: settings.connections,
      recordRetentionDays: settings.recordRetentionDays,
      databaseAdministratorPassword: dbPassword.stringValue,
      replicas: settings.replicas,
      tcpProtocols: settings.tcpProtocols,
      clientCidrs: settings.clientCidrs,
      busyPollMicroseconds: settings.busyPollMicroseconds,
    });

    const g = this.gatehouse;
    new TerraformOutput(this, 'gateway_fqdn', { description: 'HTTPS endpoint inside the VNet', value: g.gateway.fqdnOf('http') });
    new TerraformOutput(this, 'admin_fqdn', { value: g.gateway.fqdnOf('admin') });
    new TerraformOutput(this, 'record_container', { value: `${g.records.blobEndpoint}${g.records.container.name}` });
    new TerraformOutput(this, 'key_vault_name', { description: `Put ${Object.values(AZURE_SECRET_NAMES).join(', ')} and each connection's secret here`, value: g.credentials.vaultName });
    new TerraformOutput(this, 'gateway_identity_client_id', { value: g.identity.clientId });
    if (g.database) new TerraformOutput(this, 'database_fqdn', { value: g.database.fqdn });
    for (const [name, identity] of g.federatedIdentities) {
      new TerraformOutput(this, `federated_client_id_${name.replace(/-/g, '_')}`, { value: identity.clientId });
    }
  }
}
