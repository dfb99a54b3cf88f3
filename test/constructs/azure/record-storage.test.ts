import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { RecordStorage, type RecordStorageProps } from '../../../constructs/azure/record-storage';
import { onlyResource, resources, synth } from '../../support/cdktf';
import { RG, SUBNET_ID, VNET_ID } from './helpers';

const base: RecordStorageProps = { resourceGroup: RG, endpointSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID };

describe('RecordStorage', () => {
  test('every blob version is immutable under a locked time-based policy, with versioning', () => {
    const json = synth((s) => new RecordStorage(s, 'R', { ...base, retentionDays: 400 }));
    expect(json).toHaveResourceWithProperties(StorageAccount, {
      immutability_policy: { state: 'Locked', period_since_creation_in_days: 400, allow_protected_append_writes: true },
      blob_properties: expect.objectContaining({ versioning_enabled: true }),
    });
  });

  test('no shared keys, no public access, private network only, TLS 1.2 and HTTPS only', () => {
    const account = onlyResource(synth((s) => new RecordStorage(s, 'R', base)), 'azurerm_storage_account');
    expect(account).toMatchObject({
      shared_access_key_enabled: false,
      allow_nested_items_to_be_public: false,
      public_network_access_enabled: false,
      min_tls_version: 'TLS1_2',
      https_traffic_only_enabled: true,
      network_rules: { default_action: 'Deny' },
    });
  });

  test('the account is reached through a blob private endpoint', () => {
    const endpoint = onlyResource(synth((s) => new RecordStorage(s, 'R', base)), 'azurerm_private_endpoint');
    expect(endpoint.private_service_connection.subresource_names).toEqual(['blob']);
    expect(endpoint.subnet_id).toBe(SUBNET_ID);
  });

  test('append access is create/append/read with no delete; read access is read only', () => {
    const json = synth((s) => {
      const r = new RecordStorage(s, 'R', base);
      r.addAccess('writer', 'append');
      r.addAccess('reader', 'read');
    });
    const defs = Object.values(resources(json, 'azurerm_role_definition')).map((d: any) => d.permissions[0]);
    const blobs = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
    expect(defs.map((p: any) => [...p.data_actions].sort())).toEqual([
      [`${blobs}/add/action`, `${blobs}/read`, `${blobs}/write`],
      [`${blobs}/read`],
    ]);
    for (const p of defs) expect(p.actions).toEqual([]);
    expect(json).toHaveResourceWithProperties(RoleDefinition, { assignable_scopes: [RG.id] });
    const assignments = Object.values(resources(json, 'azurerm_role_assignment')) as any[];
    expect(assignments.map((a) => a.principal_id).sort()).toEqual(['reader', 'writer']);
    for (const a of assignments) expect(a.scope).toMatch(/azurerm_storage_container\..*\.id/);
  });

  test.each([
    [{ retentionDays: 0 }, /retentionDays must be a whole number/],
    [{ retentionDays: 1.5 }, /retentionDays must be a whole number/],
    [{ prefix: '/abs/' }, /prefix must be a relative blob prefix/],
    [{ accountName: 'Has-Dash' }, /accountName must be 3-24 lowercase/],
  ])('refuses %j', (props, message) => {
    expect(() => synth((s) => new RecordStorage(s, 'R', { ...base, ...props }))).toThrow(message);
  });
});
