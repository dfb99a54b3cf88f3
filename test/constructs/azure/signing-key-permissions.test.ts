import type { AccessToken } from '@azure/core-auth';
import { UpstreamCredentials } from '../../../constructs/azure/upstream-credentials';
import { AzureKeyVaultSigner } from '../../../gateway/src/recording/signers/azure-kv-signer';
import { BUILT_IN_KEY_ROLES, KeyVaultStandIn } from '../../gateway/recording/signers/key-vault-stand-in';
import { resources, synth } from '../../support/cdktf';
import { RG, SUBNET_ID, VNET_ID } from './helpers';

/**
 * The roles the Azure kit assigns on the record-signing key (UpstreamCredentials.addKeyAccess: the
 * gateway `sign`, a federated verifier `read`) are what the gateway's signer and a verifier need,
 * and no more: the Key Vault stand-in checks each operation's data action (Get Key: keys/read,
 * Sign: keys/sign/action) against the actions taken from the synthesized role assignments and
 * role definitions. A verifier role that could sign, or a gateway role that could not read the
 * key (its signer reads the public key at start), fails here.
 */
describe('Key Vault signing key: the kit grants what the gateway and verifiers need', () => {
  const kv = new KeyVaultStandIn();
  let actionsOf: (principalId: string) => string[];

  beforeAll(async () => {
    const json = synth((s) => {
      const c = new UpstreamCredentials(s, 'C', { resourceGroup: RG, tenantId: 't', endpointSubnetId: SUBNET_ID, virtualNetworkId: VNET_ID });
      const key = c.addKey('SigningKey', { name: 'gatehouse-record-signing', algorithm: 'EC', operations: ['sign', 'verify'] });
      c.addKeyAccess(key, 'gateway-principal', 'sign');
      c.addKeyAccess(key, 'verifier-principal', 'read');
    });
    const assignments = Object.values(resources(json, 'azurerm_role_assignment')) as { principal_id: string; role_definition_name?: string; role_definition_id?: string }[];
    const definitions = resources(json, 'azurerm_role_definition') as Record<string, { permissions: { data_actions: string[] }[] }>;
    actionsOf = (principalId) =>
      assignments
        .filter((a) => a.principal_id === principalId)
        .flatMap((a) => {
          if (a.role_definition_name !== undefined) return [...(BUILT_IN_KEY_ROLES[a.role_definition_name] ?? [])];
          // `${azurerm_role_definition.<id>.role_definition_resource_id}`: the kit's own role.
          const id = /azurerm_role_definition\.([^.]+)\./.exec(a.role_definition_id ?? '')![1]!;
          return definitions[id]!.permissions.flatMap((p) => p.data_actions);
        });
    kv.dataActions.set('gateway-token', actionsOf('gateway-principal'));
    kv.dataActions.set('verifier-token', actionsOf('verifier-principal'));
    await kv.start();
  });
  afterAll(async () => kv.stop());

  const signer = (token: string) =>
    AzureKeyVaultSigner.create({ keyRef: kv.ref(), endpoint: kv.url, credential: { getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) }, attempts: 1 });

  test('the gateway\'s identity reads the key at start and signs digests', async () => {
    expect(actionsOf('gateway-principal')).toEqual(expect.arrayContaining(['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/sign/action']));
    const s = await signer('gateway-token');
    expect((await s.sign(Buffer.from('gatehouse-digest-v1\n{}'))).length).toBeGreaterThan(60);
  });

  test('a federated verifier reads the public key (gatehouse verify --trust-key azure-kv-key:…) but may not sign: 403 ForbiddenByRbac', async () => {
    expect(actionsOf('verifier-principal').sort()).toEqual(['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/verify/action']);
    const s = await signer('verifier-token');
    await expect(s.sign(Buffer.from('forged digest'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { status: 403 } });
  });
});
