import { FederatedIdentityCredential } from '@cdktf/provider-azurerm/lib/federated-identity-credential';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { PostgresqlFlexibleServerConfiguration } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-configuration';
import { TerraformVariable } from 'cdktf';
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
  test('the database subnet admits PostgreSQL only from the apps subnet', () => {
    const nsg = onlyResource(synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG })), 'azurerm_network_security_group');
    expect(nsg.security_rule).toEqual([
      expect.objectContaining({ access: 'Allow', source_address_prefix: '10.40.0.0/23', destination_port_range: '5432', priority: 100 }),
      expect.objectContaining({ access: 'Deny', source_address_prefix: 'VirtualNetwork', priority: 4000 }),
    ]);
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

  test('refuses an apps subnet smaller than /27', () => {
    expect(() => synth((s) => new GatewayNetwork(s, 'N', { resourceGroup: RG, appsPrefix: '10.40.0.0/28' }))).toThrow(/appsPrefix must be an IPv4 CIDR of \/27/);
  });
});

describe('StateDatabase (PostgreSQL Flexible Server)', () => {
  const build = (s: any) => {
    const password = new TerraformVariable(s, 'pw', { type: 'string', sensitive: true });
    return new StateDatabase(s, 'D', { resourceGroup: RG, delegatedSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID, administratorPassword: password.stringValue });
  };

  test('private access only: delegated subnet, private DNS zone, no public network access', () => {
    expect(synth(build)).toHaveResourceWithProperties(PostgresqlFlexibleServer, {
      delegated_subnet_id: SUBNET_ID,
      public_network_access_enabled: false,
      private_dns_zone_id: expect.stringMatching(/azurerm_private_dns_zone\./),
    });
  });

  test('TLS is required', () => {
    expect(synth(build)).toHaveResourceWithProperties(PostgresqlFlexibleServerConfiguration, { name: 'require_secure_transport', value: 'on' });
  });

  test('refuses a literal password', () => {
    expect(() => synth((s) => new StateDatabase(s, 'D', { resourceGroup: RG, delegatedSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID, administratorPassword: 'hunter2' }))).toThrow(/must be a token/);
  });
});
