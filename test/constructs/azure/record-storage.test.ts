import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { RecordStorage, type RecordStorageProps } from '../../../constructs/azure/record-storage';
import { onlyResource, resources, synth } from '../../support/cdktf';
import { RG, SUBNET_ID, VNET_ID } from './helpers';

const base: RecordStorageProps = { resourceGroup: RG, endpointSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID };
const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

describe('RecordStorage', () => {
  let json: string;
  beforeAll(() => {
    json = synth((s) => {
      const r = new RecordStorage(s, 'R', {
        ...base,
        retentionDays: 400,
        encryptionKey: { keyVaultKeyId: 'https://kv.vault.azure.net/keys/cmk', identityId: '/identities/cmk' },
        logAnalyticsWorkspaceId: '/workspaces/logs',
      });
      r.addAccess('writer', 'append');
      r.addAccess('reader', 'read');
    });
  });

  // azurerm 4.55, internal/services/storage/storage_account_resource.go (CustomizeDiff): "initial
  // value of `immutability_policy.0.state` can be either Disabled or Unlocked" — a Locked state at
  // creation fails the plan (and the API answers InvalidStorageAccountImmutabilityPolicy).
  test('the account is created with an Unlocked version-level policy (the only states allowed at creation)', () => {
    expect(json).toHaveResourceWithProperties(StorageAccount, {
      immutability_policy: { state: 'Unlocked', period_since_creation_in_days: 400, allow_protected_append_writes: true },
      blob_properties: expect.objectContaining({ versioning_enabled: true }),
    });
    expect(['Disabled', 'Unlocked']).toContain(onlyResource(json, 'azurerm_storage_account').immutability_policy.state);
  });

  // internal/services/storage/storage_container_immutability_policy_resource.go, Create: the
  // policy is created, then "Lock the policy if requested" (LockImmutabilityPolicy) in the same
  // apply, through Resource Manager.
  test('the record container carries a locked time-based policy of the retention period, created and locked in one apply', () => {
    const policy = onlyResource(json, 'azurerm_storage_container_immutability_policy');
    expect(policy).toMatchObject({ locked: true, immutability_period_in_days: 400, protected_append_writes_enabled: true });
    expect(policy.storage_container_resource_manager_id).toMatch(/azurerm_storage_container\..*\.id/);
  });

  // internal/services/storage/storage_container_resource.go: `storage_account_id` uses the Resource
  // Manager client; the deprecated `storage_account_name` goes through the blob data plane, which
  // answers 403 from outside the VNet once public network access is off.
  test('the container is created through Resource Manager (storage_account_id), never the data plane', () => {
    const container = onlyResource(json, 'azurerm_storage_container');
    expect(container.storage_account_id).toMatch(/azurerm_storage_account\..*\.id/);
    expect(container.storage_account_name).toBeUndefined();
  });

  test('no shared keys, no public access, private network only, TLS 1.2 and HTTPS only; no data-plane-only blocks', () => {
    const account = onlyResource(json, 'azurerm_storage_account');
    expect(account).toMatchObject({
      shared_access_key_enabled: false,
      allow_nested_items_to_be_public: false,
      public_network_access_enabled: false,
      min_tls_version: 'TLS1_2',
      https_traffic_only_enabled: true,
      network_rules: { default_action: 'Deny' },
    });
    // storage_account_resource.go refuses queue_properties/static_website with data_plane_available = false.
    expect(account.queue_properties).toBeUndefined();
    expect(account.static_website).toBeUndefined();
  });

  // storage_account_resource.go, expandAccountCustomerManagedKey: "customer managed key can only be
  // used with account kind `StorageV2` or account tier `Premium`", "... only be configured when the
  // storage account uses a `UserAssigned` ... managed identity", and the vault "must be configured
  // for both Purge Protection and Soft Delete" (upstream-credentials.test.ts asserts that part).
  test('a customer-managed key encrypts the account, read with its user-assigned identity', () => {
    expect(onlyResource(json, 'azurerm_storage_account')).toMatchObject({
      account_kind: 'StorageV2',
      identity: { type: 'UserAssigned', identity_ids: ['/identities/cmk'] },
      customer_managed_key: { key_vault_key_id: 'https://kv.vault.azure.net/keys/cmk', user_assigned_identity_id: '/identities/cmk' },
    });
  });

  test('blob reads, writes and deletes are logged to Log Analytics', () => {
    const setting = onlyResource(json, 'azurerm_monitor_diagnostic_setting');
    expect(setting.target_resource_id).toMatch(/\/blobServices\/default$/);
    expect(setting.log_analytics_workspace_id).toBe('/workspaces/logs');
    expect(setting.enabled_log.map((l: any) => l.category).sort()).toEqual(['StorageDelete', 'StorageRead', 'StorageWrite']);
  });

  test('the account is reached through a blob private endpoint', () => {
    const endpoint = onlyResource(json, 'azurerm_private_endpoint');
    expect(endpoint.private_service_connection.subresource_names).toEqual(['blob']);
    expect(endpoint.subnet_id).toBe(SUBNET_ID);
  });

  // Put Blob needs `blobs/write` to overwrite an existing blob and only `blobs/add/action` to create
  // one ("Permissions for Blob service operations", learn.microsoft.com/rest/api/storageservices/
  // authorize-with-azure-active-directory). With `write`, the gateway identity could put a new
  // current version over a record blob (the old one survives only as a previous version).
  test('append is create + read only: no write (overwrite would shadow the current version), no delete; read is read only', () => {
    const defs = Object.values(resources(json, 'azurerm_role_definition')).map((d: any) => d.permissions[0]);
    expect(defs.map((p: any) => [...p.data_actions].sort())).toEqual([
      [`${BLOBS}/add/action`, `${BLOBS}/read`],
      [`${BLOBS}/read`],
    ]);
    for (const p of defs) {
      expect(p.actions).toEqual([]);
      expect(p.data_actions).not.toContain(`${BLOBS}/write`);
      expect(p.data_actions).not.toContain(`${BLOBS}/delete`);
    }
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
