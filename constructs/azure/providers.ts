// Every resource of @cdktf/provider-azurerm the azure kit uses, and nothing else of it: the one file that
// names the prebuilt provider bindings (constructs and the reference stack import from here), so a
// move off CDKTF (docs/deployment.md, "Moving off CDKTF") changes these lines, not every construct.
// Deep paths, never the package's root index: loading that costs seconds and hundreds of MB.
export { ContainerApp, type ContainerAppTemplateContainerLivenessProbe } from '@cdktf/provider-azurerm/lib/container-app/index.js';
export { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment/index.js';
export { ContainerAppJob } from '@cdktf/provider-azurerm/lib/container-app-job/index.js';
export { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config/index.js';
export { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential/index.js';
export { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault/index.js';
export { KeyVaultKey } from '@cdktf/provider-azurerm/lib/key-vault-key/index.js';
export { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace/index.js';
export { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group/index.js';
export { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting/index.js';
export { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert/index.js';
export { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2/index.js';
export { NatGateway } from '@cdktf/provider-azurerm/lib/nat-gateway/index.js';
export { NatGatewayPublicIpAssociation } from '@cdktf/provider-azurerm/lib/nat-gateway-public-ip-association/index.js';
export { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group/index.js';
export { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server/index.js';
export { PostgresqlFlexibleServerActiveDirectoryAdministrator } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-active-directory-administrator/index.js';
export { PostgresqlFlexibleServerConfiguration } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-configuration/index.js';
export { PostgresqlFlexibleServerDatabase } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-database/index.js';
export { PrivateDnsARecord } from '@cdktf/provider-azurerm/lib/private-dns-a-record/index.js';
export { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone/index.js';
export { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link/index.js';
export { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint/index.js';
export { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider/index.js';
export { PublicIp } from '@cdktf/provider-azurerm/lib/public-ip/index.js';
export { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group/index.js';
export { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment/index.js';
export { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition/index.js';
export { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account/index.js';
export { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container/index.js';
export { StorageContainerImmutabilityPolicy } from '@cdktf/provider-azurerm/lib/storage-container-immutability-policy/index.js';
export { Subnet } from '@cdktf/provider-azurerm/lib/subnet/index.js';
export { SubnetNatGatewayAssociation } from '@cdktf/provider-azurerm/lib/subnet-nat-gateway-association/index.js';
export { SubnetNetworkSecurityGroupAssociation } from '@cdktf/provider-azurerm/lib/subnet-network-security-group-association/index.js';
export { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity/index.js';
export { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network/index.js';
