import { TerraformVariable } from 'cdktf';
import { Gatehouse, type GatehouseProps } from '../../../constructs/azure/gatehouse';
import { resources, synth } from '../../support/cdktf';
import { IMAGE, RG } from './helpers';

function build(props: Partial<GatehouseProps> = {}): string {
  return synth((s) => new Gatehouse(s, 'G', {
    resourceGroup: RG,
    tenantId: 'tenant',
    image: IMAGE,
    databaseAdministratorPassword: new TerraformVariable(s, 'pw', { type: 'string', sensitive: true }).stringValue,
    issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], options: { kind: 'workload' }, azureIdentity: { subjects: ['repo:acme/audit:ref:refs/heads/main'] } }],
    connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } }],
    ...props,
  } as GatehouseProps));
}

describe('Gatehouse (Azure)', () => {
  test('the gateway identity gets exactly: append to the record container and read its Key Vault secrets', () => {
    const json = build();
    const gateway = (Object.values(resources(json, 'azurerm_role_assignment')) as any[])
      .filter((a) => /\.G_Identity_[0-9A-F]+\.principal_id/.test(a.principal_id));
    expect(gateway.map((a) => [a.role_definition_name ?? 'custom', String(a.scope).split('.')[0]]).sort()).toEqual([
      ['Key Vault Secrets User', '${azurerm_key_vault'],
      ['custom', '${azurerm_storage_container'],
    ]);
  });

  test('an issuer with azureIdentity gets its own federated identity that may only read the record', () => {
    const json = build();
    const identities = Object.values(resources(json, 'azurerm_user_assigned_identity')) as any[];
    expect(identities.map((i) => i.name).sort()).toEqual(['gatehouse-fed-github', 'gatehouse-gateway']);
    const fic = Object.values(resources(json, 'azurerm_federated_identity_credential')) as any[];
    expect(fic).toHaveLength(1);
    expect(fic[0].parent_id).toMatch(/Federation-github/);
    const readRole = (Object.values(resources(json, 'azurerm_role_definition')) as any[]).find((d) => d.permissions[0].data_actions.length === 1);
    expect(readRole).toBeDefined();
  });

  test('busy polling is off unless asked for; when set it reaches the gateway configuration; a bad value fails the synth', () => {
    const yamlOf = (json: string): string =>
      (Object.values(resources(json, 'azurerm_container_app')) as any[])[0].template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;
    expect(yamlOf(build())).not.toContain('tuning');
    expect(yamlOf(build({ busyPollMicroseconds: 1000 }))).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
    expect(() => build({ busyPollMicroseconds: -1 })).toThrow(/busyPollMicroseconds must be a whole number from 0 to 10000, got -1/);
  });

  test('the configuration points at the blob container, Key Vault secrets and database by reference, never by value', () => {
    const app = (Object.values(resources(build(), 'azurerm_container_app')) as any[])[0];
    const yaml: string = app.template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;
    expect(yaml).toContain('mode: production');
    expect(yaml).toMatch(/sink:\n\s+type: azure-blob\n\s+endpoint: \$\{azurerm_storage_account\.[^}]+\.primary_blob_endpoint\}\n\s+container: \$\{azurerm_storage_container\.[^}]+\.name\}\n\s+prefix: gatehouse\//);
    expect(yaml).toMatch(/secret: azure-kv:\$\{azurerm_key_vault\.[^}]+\.name\}\/gatehouse-anthropic/);
    expect(yaml).toMatch(/signingKey: azure-kv:\$\{azurerm_key_vault\.[^}]+\.name\}\/gatehouse-signing-key/);
    expect(yaml).toMatch(/url: azure-kv:\$\{azurerm_key_vault\.[^}]+\.name\}\/gatehouse-state-url/);
    expect(yaml).not.toMatch(/var\.pw|password/i);
  });

  test('clients default to the VNet address space', () => {
    const app = (Object.values(resources(build(), 'azurerm_container_app')) as any[])[0];
    expect(app.ingress.ip_security_restriction.map((r: any) => r.ip_address_range)).toEqual(['10.40.0.0/16']);
  });

  test('an existing database URL secret replaces the created server', () => {
    const json = synth((s) => new Gatehouse(s, 'G', { resourceGroup: RG, tenantId: 't', image: IMAGE, existingDatabaseUrlSecret: 'pg-url' }));
    expect(Object.keys(resources(json, 'azurerm_postgresql_flexible_server'))).toHaveLength(0);
    expect(json).toContain('/pg-url');
  });

  test.each([
    ['neither password nor existing database', { databaseAdministratorPassword: undefined }, /exactly one of databaseAdministratorPassword/],
    ['a duplicate connection', { connections: [{ name: 'a', spec: {} }, { name: 'a', spec: {} }] }, /given more than once/],
    ['a credential secret inside spec', { connections: [{ name: 'a', spec: { credential: { type: 'bearer', secret: 'env:X' } } }] }, /sets credential.secret/],
    ['a plain-http issuer', { issuers: [{ name: 'x', issuer: 'http://x', audiences: ['a'] }] }, /https URL/],
  ])('refuses %s', (_n, props, message) => {
    expect(() => build(props as Partial<GatehouseProps>)).toThrow(message);
  });
});
