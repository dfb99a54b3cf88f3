// Every resource of @cdktf/provider-azurerm the azure kit uses, and nothing else of it: the one file that
// names the prebuilt provider bindings (constructs and the reference stack import from here), so a
// move off CDKTF (docs/deployment.md, "Moving off CDKTF") changes these lines, not every construct.
// Deep paths, never the package's root index: loading that costs seconds and hundreds of MB.
export { ContainerApp, type ContainerAppTemplateContainerLivenessProbe } from '@cdktf/provider-azurerm/lib/container-app';
export { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment';
export { ContainerAppJob } from '@cdktf/provider-azurerm/lib/container-app-job';
export { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
export { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
export { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
export { KeyVaultKey } from '@cdktf/provider-azurerm/lib/key-vault-key';
export { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
export { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group';
export { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
export { MonitorMetricAlert } from '@cdktf/provider-azurerm/lib/monitor-metric-alert';
export { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2';
export { NatGateway } from '@cdktf/provider-azurerm/lib/nat-gateway';
export { NatGatewayPublicIpAssociation } from '@cdktf/provider-azurerm/lib/nat-gateway-public-ip-association';
export { NetworkSecurityGroup } from '@cdktf/provider-azurerm/lib/network-security-group';
export { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
export { PostgresqlFlexibleServerActiveDirectoryAdministrator } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-active-directory-administrator';
export { PostgresqlFlexibleServerConfiguration } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-configuration';
export { PostgresqlFlexibleServerDatabase } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-database';
export { PrivateDnsARecord } from '@cdktf/provider-azurerm/lib/private-dns-a-record';
export { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
export { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
export { PrivateEndpoint } from '@cdktf/provider-azurerm/lib/private-endpoint';
export { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
export { PublicIp } from '@cdktf/provider-azurerm/lib/public-ip';
export { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
export { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
export { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
export { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
export { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
export { StorageContainerImmutabilityPolicy } from '@cdktf/provider-azurerm/lib/storage-container-immutability-policy';
export { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
export { SubnetNatGatewayAssociation } from '@cdktf/provider-azurerm/lib/subnet-nat-gateway-association';
export { SubnetNetworkSecurityGroupAssociation } from '@cdktf/provider-azurerm/lib/subnet-network-security-group-association';
export { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
export { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network';
