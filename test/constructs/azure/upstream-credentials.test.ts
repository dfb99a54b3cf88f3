import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { UpstreamCredentials, type UpstreamCredentialsProps } from '../../../constructs/azure/upstream-credentials';
import { onlyResource, synth, validationErrors } from '../../support/cdktf';
import { RG, SUBNET_ID, VNET_ID } from './helpers';

const base: UpstreamCredentialsProps = { resourceGroup: RG, tenantId: 't', connections: ['anthropic', 'open_ai'], endpointSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID };

describe('UpstreamCredentials (Key Vault)', () => {
  test('the vault uses RBAC, purge protection, premium (HSM-backed keys), and no public network access', () => {
    const json = synth((s) => new UpstreamCredentials(s, 'C', base).addAccess('gw'));
    expect(json).toHaveResourceWithProperties(KeyVault, {
      sku_name: 'premium',
      rbac_authorization_enabled: true,
      purge_protection_enabled: true,
      public_network_access_enabled: false,
      network_acls: { default_action: 'Deny', bypass: 'AzureServices', ip_rules: [] },
    });
  });

  // azurerm 4.55, internal/services/keyvault/key_vault_key_resource.go: CreateKey is called on the
  // vault's URI (data plane); a vault without public network access refuses it from outside its VNet.
  test('deployerCidrs open the public endpoint to those ranges only; keys are generated inside the vault after the deployer roles', () => {
    const json = synth((s) => {
      const c = new UpstreamCredentials(s, 'C', { ...base, deployerCidrs: ['198.51.100.4/32'], deployerPrincipalId: 'me', logAnalyticsWorkspaceId: '/workspaces/logs' });
      c.addAccess('gw');
      const key = c.addKey('Sign', { name: 'sig', algorithm: 'EC', operations: ['sign', 'verify'] });
      c.addKeyAccess(key, 'gw', 'sign');
      c.addKeyAccess(key, 'auditor', 'read');
    });
    expect(onlyResource(json, 'azurerm_key_vault')).toMatchObject({
      public_network_access_enabled: true,
      network_acls: { default_action: 'Deny', ip_rules: ['198.51.100.4/32'] },
    });
    const key = onlyResource(json, 'azurerm_key_vault_key');
    expect(key).toMatchObject({ key_type: 'EC-HSM', curve: 'P-256', key_opts: ['sign', 'verify'] });
    expect(key.depends_on.filter((d: string) => d.startsWith('azurerm_role_assignment'))).toHaveLength(2);
    // RBAC propagation: key_vault_key_resource.go does not retry a 403, so the key also waits out
    // the deployer's new roles (rbac-propagation.ts).
    expect(key.depends_on).toContainEqual(expect.stringMatching(/^terraform_data\.C_DeployerAccessSettled/));
    expect(onlyResource(json, 'terraform_data').provisioner).toEqual([{ 'local-exec': { command: 'sleep 120' } }]);
    const roles = Object.values(JSON.parse(json).resource.azurerm_role_assignment) as any[];
    expect(roles.filter((r) => r.principal_id === 'me').map((r) => r.role_definition_name).sort()).toEqual(['Key Vault Crypto Officer', 'Key Vault Secrets Officer']);
    expect(roles.find((r) => r.principal_id === 'gw' && r.scope.includes('key_vault_key'))).toMatchObject({ role_definition_name: 'Key Vault Crypto User' });
    const reader = onlyResource(json, 'azurerm_role_definition');
    expect(reader.permissions[0].data_actions.sort()).toEqual(['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/verify/action']);
    expect(onlyResource(json, 'azurerm_monitor_diagnostic_setting').enabled_log).toEqual([{ category: 'AuditEvent' }]);
  });

  test('the vault is reached through a private endpoint', () => {
    const endpoint = onlyResource(synth((s) => new UpstreamCredentials(s, 'C', base).addAccess('gw')), 'azurerm_private_endpoint');
    expect(endpoint.private_service_connection.subresource_names).toEqual(['vault']);
  });

  test('only principals given to addAccess read secrets, with the read-only secrets role', () => {
    const json = synth((s) => new UpstreamCredentials(s, 'C', base).addAccess('gw'));
    expect(json).toHaveResourceWithProperties(RoleAssignment, { role_definition_name: 'Key Vault Secrets User', principal_id: 'gw' });
    expect(onlyResource(json, 'azurerm_role_assignment').principal_id).toBe('gw');
  });

  test('references name the vault and one secret per connection', () => {
    let refs: string[] = [];
    synth((s) => {
      const c = new UpstreamCredentials(s, 'C', { ...base, existingVault: { id: '/x', name: 'kv1' }, endpointSubnetId: undefined, virtualNetworkId: undefined });
      c.addAccess('gw');
      refs = [c.referenceFor('anthropic'), c.referenceFor('open_ai')];
    });
    expect(refs).toEqual(['azure-kv:kv1/gatehouse-anthropic', 'azure-kv:kv1/gatehouse-open-ai']);
  });

  test('an existing vault creates no vault and no endpoint', () => {
    const json = synth((s) => new UpstreamCredentials(s, 'C', { resourceGroup: RG, tenantId: 't', existingVault: { id: '/x', name: 'kv1' } }));
    expect(json).not.toHaveResource(KeyVault);
  });

  test('credentials nobody can read fail validation', () => {
    expect(validationErrors((s) => new UpstreamCredentials(s, 'C', base)).join('\n')).toMatch(/nobody can read the credentials/);
  });

  test.each([
    [{ connections: ['a', 'a'] }, /given more than once/],
    [{ connections: ['Bad'] }, /lowercase letters/],
    [{ endpointSubnetId: undefined }, /needs endpointSubnetId/],
    [{ softDeleteRetentionDays: 3 }, /between 7 and 90/],
    [{ existingVault: { id: '/x', name: 'kv' }, vaultName: 'abc' }, /conflict with existingVault/],
    [{ deployerCidrs: ['my laptop'] }, /deployerCidrs entries must be IPv4/],
  ])('refuses %j', (props, message) => {
    expect(() => synth((s) => new UpstreamCredentials(s, 'C', { ...base, ...props }))).toThrow(message);
  });
});
