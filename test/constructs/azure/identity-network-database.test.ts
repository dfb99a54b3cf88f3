import { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { PostgresqlFlexibleServerConfiguration } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-configuration';
import { GatewayNetwork } from '../../../constructs/azure/gateway-network';
import { StateDatabase } from '../../../constructs/azure/state-database';
import { WorkloadIdentity } from '../../../constructs/azure/workload-identity';
import { onlyResource, resources, synth } from '../../support/cdktf';
import { RG, SUBNET_ID, VNET_ID } from './helpers';

describe('WorkloadIdentity', () => {
  test('one federated credential per exact subject of the external issuer', () => {
    const json = synth((s) => new WorkloadIdentity(s, 'W', {
      resourceGroup: RG, name: 'fed', federatedIssuers: [{ issuer: 'https://token.actions.githubusercontent.com', subjects: ['repo:a/b:ref:refs/heads/main'] }],
    }));
    expect(json).toHaveResourceWithProperties(FederatedIdentityCredential, {
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:a/b:ref:refs/heads/main',
      audience: ['api://AzureADTokenExchange'],
    });
  });

  test.each([
    [{ issuer: 'http://x', subjects: ['s'] }, /https URL/],
    [{ issuer: 'https://x', subjects: [] }, /at least one subject/],
    [{ issuer: 'https://x', subjects: ['repo:a/*'] }, /wildcard/],
  ])('refuses %j', (issuer, message) => {
    expect(() => synth((s) => new WorkloadIdentity(s, 'W', { resourceGroup: RG, name: 'x', federatedIssuers: [issuer] }))).toThrow(message);
  });
});

describe('GatewayNetwork', () => {
  test('the database subnet admits PostgreSQL only from the apps subnet, and its own traffic', () => {
    const nsg = onlyResource(synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG })), 'azurerm_network_security_group');
    expect(nsg.security_rule).toEqual([
      expect.objectContaining({ access: 'Allow', source_address_prefix: '10.40.0.0/23', destination_port_range: '5432', priority: 100 }),
      expect.objectContaining({ name: 'database-subnet-internal', access: 'Allow' }),
      expect.objectContaining({ access: 'Deny', source_address_prefix: 'VirtualNetwork', priority: 4000 }),
    ]);
  });

  // Zone-redundant HA replicates between primary and standby inside the delegated subnet; "Network
  // with private access (virtual network integration) for Azure Database for PostgreSQL", section
  // "Network security groups": NSG rules must allow traffic within the delegated subnet
  // (learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private). The deny of
  // other VNet traffic at 4000 must not come first.
  test('HA replication inside the database subnet (5432 and 6432) is allowed before the VNet deny', () => {
    const nsg = onlyResource(synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG })), 'azurerm_network_security_group');
    const inbound = [...nsg.security_rule].filter((r: any) => r.direction === 'Inbound').sort((a: any, b: any) => a.priority - b.priority);
    const covers = (range: string, port: number) => range === '*' || range === String(port);
    for (const port of [5432, 6432]) {
      const first = inbound.find((r: any) => ['10.40.3.0/24', '*', 'VirtualNetwork'].includes(r.source_address_prefix)
        && ['10.40.3.0/24', '*', 'VirtualNetwork'].includes(r.destination_address_prefix) && covers(r.destination_port_range, port));
      expect(first).toMatchObject({ access: 'Allow', source_address_prefix: '10.40.3.0/24' });
    }
  });

  test('subnets are delegated and have no default outbound access', () => {
    const subnets = Object.values(resources(synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG })), 'azurerm_subnet')) as any[];
    expect(Object.fromEntries(subnets.map((s) => [s.name, s.delegation?.[0]?.service_delegation.name ?? null]))).toEqual({
      'gatehouse-apps': 'Microsoft.App/environments',
      'gatehouse-endpoints': null,
      'gatehouse-database': 'Microsoft.DBforPostgreSQL/flexibleServers',
    });
    for (const s of subnets) expect(s.default_outbound_access_enabled).toBe(false);
  });

  test('the apps subnet reaches the internet only through the NAT gateway (a static egress IP); natGateway: false drops it', () => {
    const json = synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG }));
    expect(onlyResource(json, 'azurerm_subnet_nat_gateway_association').subnet_id).toMatch(/azurerm_subnet\.N_AppsSubnet/);
    expect(onlyResource(json, 'azurerm_public_ip')).toMatchObject({ allocation_method: 'Static', sku: 'Standard' });
    expect(Object.keys(resources(synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG, natGateway: false })), 'azurerm_nat_gateway'))).toHaveLength(0);
  });

  test('another address space alone gives subnets carved from it (they were fixed at 10.40.x, outside it)', () => {
    const json = synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG, addressSpace: '10.60.0.0/16' }));
    expect(onlyResource(json, 'azurerm_virtual_network').address_space).toEqual(['10.60.0.0/16']);
    const prefixes = Object.fromEntries((Object.values(resources(json, 'azurerm_subnet')) as any[]).map((s) => [s.name, s.address_prefixes]));
    expect(prefixes).toEqual({ 'gatehouse-apps': ['10.60.0.0/23'], 'gatehouse-endpoints': ['10.60.2.0/24'], 'gatehouse-database': ['10.60.3.0/24'] });
    // A /23 cannot hold a /23 and two /24s: the subnets must then be given.
    expect(() => synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG, addressSpace: '10.60.0.0/23' }))).toThrow(/appsPrefix cannot be carved from the address space "10.60.0.0\/23"/);
  });

  test('refuses an apps subnet smaller than /27', () => {
    expect(() => synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG, appsPrefix: '10.40.0.0/28' }))).toThrow(/appsPrefix must be an IPv4 CIDR of \/27/);
  });
});

describe('StateDatabase (PostgreSQL Flexible Server)', () => {
  const build = (s: any) => new StateDatabase(s, 'D', {
    resourceGroup: RG, delegatedSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID, tenantId: 'tenant',
    administrator: { objectId: 'bootstrap-oid', principalName: 'gatehouse-state-admin' }, logAnalyticsWorkspaceId: '/workspaces/logs',
  });
  let json: string;
  beforeAll(() => { json = synth(build); });

  // azurerm 4.55, internal/services/postgres/postgresql_flexible_server_resource.go (create):
  // "`administrator_login`, `administrator_password` and `administrator_password_wo` cannot be set
  // during creation when `authentication.password_auth_enabled` is set to `false`".
  test('Entra authentication only: no password administrator at all, nothing secret in state', () => {
    const server = onlyResource(json, 'azurerm_postgresql_flexible_server');
    expect(server.authentication).toEqual({ active_directory_auth_enabled: true, password_auth_enabled: false, tenant_id: 'tenant' });
    expect(server.administrator_login).toBeUndefined();
    expect(server.administrator_password).toBeUndefined();
    expect(server.administrator_password_wo).toBeUndefined();
  });

  test('the Entra administrator is the given bootstrap identity', () => {
    expect(onlyResource(json, 'azurerm_postgresql_flexible_server_active_directory_administrator')).toMatchObject({
      object_id: 'bootstrap-oid', principal_name: 'gatehouse-state-admin', principal_type: 'ServicePrincipal', tenant_id: 'tenant',
    });
  });

  test('logs (with connections) go to Log Analytics', () => {
    expect(onlyResource(json, 'azurerm_monitor_diagnostic_setting').enabled_log).toEqual([{ category: 'PostgreSQLLogs' }]);
    expect(json).toHaveResourceWithProperties(PostgresqlFlexibleServerConfiguration, { name: 'log_connections', value: 'on' });
  });

  test('url(role) verifies the server identity', () => {
    let url = '';
    synth((s) => { url = build(s).url('gatehouse-gateway'); });
    expect(url).toMatch(/^postgresql:\/\/gatehouse-gateway@\$\{[^}]+\}:5432\/gatehouse\?sslmode=verify-full$/);
  });

  test('private access only: delegated subnet, private DNS zone, no public network access', () => {
    expect(json).toHaveResourceWithProperties(PostgresqlFlexibleServer, {
      delegated_subnet_id: SUBNET_ID,
      public_network_access_enabled: false,
      private_dns_zone_id: expect.stringMatching(/azurerm_private_dns_zone\./),
    });
  });

  test('TLS is required', () => {
    expect(json).toHaveResourceWithProperties(PostgresqlFlexibleServerConfiguration, { name: 'require_secure_transport', value: 'on' });
  });
});
