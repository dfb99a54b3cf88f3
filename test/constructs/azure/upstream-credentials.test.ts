import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { UpstreamCredentials, type UpstreamCredentialsProps } from '../../../constructs/azure/upstream-credentials';
import { onlyResource, synth, validationErrors } from '../../support/cdktf';
import { RG, SUBNET_ID, VNET_ID } from './helpers';

const base: UpstreamCredentialsProps = { resourceGroup: RG, tenantId: 't', connections: ['anthropic', 'open_ai'], endpointSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID };

describe('UpstreamCredentials (Key Vault)', () => {
  test('the vault uses RBAC, purge protection, and no public network access', () => {
    const json = synth((s) => new UpstreamCredentials(s, 'C', base).addAccess('gw'));
    expect(json).toHaveResourceWithProperties(KeyVault, {
      rbac_authorization_enabled: true,
      purge_protection_enabled: true,
      public_network_access_enabled: false,
      network_acls: { default_action: 'Deny', bypass: 'None' },
    });
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
  ])('refuses %j', (props, message) => {
    expect(() => synth((s) => new UpstreamCredentials(s, 'C', { ...base, ...props }))).toThrow(message);
  });
});
