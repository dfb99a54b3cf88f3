import { Gatehouse, type GatehouseProps } from '../../../constructs/azure/gatehouse';
import { parse } from 'yaml';
import { resources, synth } from '../../support/cdktf';
import { IMAGE, RG } from './helpers';

const PROPS: GatehouseProps = {
  resourceGroup: RG,
  tenantId: 'tenant',
  image: IMAGE,
  registry: { server: 'example.azurecr.io', id: '/registries/acr' },
  deployerCidrs: ['198.51.100.4/32'],
  deployerPrincipalId: 'deployer',
  alarmEmail: 'ops@example.com',
  issuers: [{ name: 'github', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], options: { kind: 'workload' }, federation: { subjects: ['repo:acme/audit:ref:refs/heads/main'] } }],
  connections: [
    { name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/anthropic' }, credential: { type: 'bearer' } } },
    { name: 'openai', spec: { kind: 'http', upstream: 'https://api.openai.com', route: { pathPrefix: '/openai' }, credential: { type: 'bearer' } }, secret: { vaultId: '/vaults/shared', vaultName: 'shared', name: 'openai-key' } },
  ],
};
const build = (props: Partial<GatehouseProps> = {}): string => synth((s) => new Gatehouse(s, 'G', { ...PROPS, ...props }));
const all = (json: string, type: string) => Object.values(resources(json, type)) as any[];
const yamlOf = (json: string): string => all(json, 'azurerm_container_app')[0].template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;

describe('Gatehouse (Azure)', () => {
  let json: string;
  beforeAll(() => { json = build(); });

  test('the gateway identity gets exactly: its secrets, sign with the signing key, create+read the record, pull its image', () => {
    const gateway = all(json, 'azurerm_role_assignment').filter((a) => /\.G_Identity_[0-9A-F]+\.principal_id/.test(a.principal_id));
    expect(gateway.map((a) => [a.role_definition_name ?? 'custom', String(a.scope).split(/[.}]/)[0]]).sort()).toEqual([
      ['AcrPull', '/registries/acr'],
      ['Key Vault Crypto User', '${azurerm_key_vault_key'],
      ['Key Vault Secrets User', '${azurerm_key_vault'],
      ['Key Vault Secrets User', '/vaults/shared/secrets/openai-key'],
      ['custom', '${azurerm_storage_container'],
    ]);
  });

  test('the record-signing key is an EC P-256 key generated in the (premium) vault, sign/verify only, and the gateway names it', () => {
    const key = all(json, 'azurerm_key_vault_key').find((k) => k.name === 'gatehouse-record-signing');
    expect(key).toMatchObject({ key_type: 'EC-HSM', curve: 'P-256', key_opts: ['sign', 'verify'] });
    expect(yamlOf(json)).toMatch(/signingKey: azure-kv-key:https:\/\/\$\{azurerm_key_vault\.[^}]+\.name\}\.vault\.azure\.net\/keys\/gatehouse-record-signing\n/);
    expect(json).not.toMatch(/BEGIN PRIVATE KEY|gatehouse-signing-key/);
  });

  test('state: the gateway logs in as its own Entra role with verify-full; a separate bootstrap identity is the Entra admin', () => {
    expect(yamlOf(json)).toMatch(/state:\n {2}url: postgresql:\/\/gatehouse-gateway@\$\{azurerm_postgresql_flexible_server\.[^}]+\.fqdn\}:5432\/gatehouse\?sslmode=verify-full\n {2}iamAuth: azure-entra\n {2}schema: gatehouse/);
    const admin = all(json, 'azurerm_postgresql_flexible_server_active_directory_administrator')[0];
    expect(admin.principal_name).toBe('gatehouse-state-admin');
    expect(admin.object_id).toMatch(/G_BootstrapIdentity_.*\.principal_id/);
    expect(admin.object_id).not.toMatch(/G_Identity_/);
    expect(json).not.toMatch(/administrator_password|database_admin_password/);
  });

  test('the bootstrap job runs the same image with the bootstrap identity inside the environment, on a schedule (no operator)', () => {
    const job = all(json, 'azurerm_container_app_job')[0];
    expect(job.identity.identity_ids).toEqual([expect.stringMatching(/G_BootstrapIdentity_.*\.id/)]);
    expect(job.container_app_environment_id).toMatch(/azurerm_container_app_environment\./);
    expect(job.schedule_trigger_config.cron_expression).toBeDefined();
    const c = job.template.container[0];
    expect(c.image).toBe(IMAGE);
    // The image's ENTRYPOINT is the gateway (gateway/Dockerfile); args replace only its CMD (`run`).
    expect(c.command).toBeUndefined();
    expect(c.args.slice(0, 1)).toEqual(['bootstrap-state']);
    expect(c.args[c.args.indexOf('--admin-url') + 1]).toMatch(/^postgresql:\/\/gatehouse-state-admin@.*sslmode=verify-full$/);
    expect(c.args[c.args.indexOf('--iam-auth') + 1]).toBe('azure-entra');
    expect(c.args[c.args.indexOf('--app-role') + 1]).toBe('gatehouse-gateway');
    expect(c.args[c.args.indexOf('--app-role-oid') + 1]).toMatch(/G_Identity_.*\.principal_id/);
    expect(c.args[c.args.indexOf('--schema') + 1]).toBe('gatehouse');
    expect(job.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/active_directory_administrator/)]));
    expect(job.registry).toEqual([{ server: 'example.azurecr.io', identity: expect.stringMatching(/G_BootstrapIdentity_/) }]);
  });

  test('the apps wait for their role assignments and the signing key (explicit order, not a race)', () => {
    for (const app of all(json, 'azurerm_container_app')) {
      expect(app.depends_on).toEqual(expect.arrayContaining([expect.stringMatching(/^azurerm_key_vault_key\.G_Credentials_SigningKey/)]));
      expect(app.depends_on.filter((d: string) => d.startsWith('azurerm_role_assignment')).length).toBeGreaterThanOrEqual(4);
      expect(app.depends_on).toContainEqual(expect.stringMatching(/^terraform_data\.G_GatewayAccessSettled/));
    }
  });

  test('the bootstrap schedule exists before any app: the first revision\'s readiness waits on a run that is already armed', () => {
    // azurerm_container_app_job never starts a job on create (container_app_job_resource.go:
    // Create is CreateOrUpdateThenPoll only), so the gateway's role comes from the schedule; the
    // apps' create (CreateOrUpdateThenPoll) may hold until a replica is ready (/readyz, which
    // needs that role), so the job must not be created after them.
    const jobId = Object.keys(resources(json, 'azurerm_container_app_job'))[0];
    const apps = all(json, 'azurerm_container_app');
    expect(apps.length).toBeGreaterThan(0);
    for (const app of apps) expect(app.depends_on).toContain(`azurerm_container_app_job.${jobId}`);
    // And the job does not wait for the apps (no cycle): it needs the environment only.
    const job = all(json, 'azurerm_container_app_job')[0];
    expect((job.depends_on ?? []).filter((d: string) => d.startsWith('azurerm_container_app.'))).toEqual([]);
  });

  test('a connection with its own secret is referenced there; the others use the kit vault', () => {
    const yaml = yamlOf(json);
    expect(yaml).toContain('secret: azure-kv:shared/openai-key');
    expect(yaml).toMatch(/secret: azure-kv:\$\{azurerm_key_vault\.[^}]+\.name\}\/gatehouse-anthropic/);
    expect(all(json, 'azurerm_key_vault_secret')).toHaveLength(0);
  });

  test('an issuer with federation gets its own identity that may read the record and the public key, never sign', () => {
    const identities = all(json, 'azurerm_user_assigned_identity').map((i) => i.name).sort();
    expect(identities).toEqual(['gatehouse-cmk', 'gatehouse-fed-github', 'gatehouse-gateway', 'gatehouse-state-admin']);
    const fic = all(json, 'azurerm_federated_identity_credential');
    expect(fic).toHaveLength(1);
    expect(fic[0]).toMatchObject({ subject: 'repo:acme/audit:ref:refs/heads/main', audience: ['gatehouse'] });
    const fed = all(json, 'azurerm_role_assignment').filter((a) => /Federation-github/.test(a.principal_id));
    expect(fed.map((a) => a.role_definition_name ?? 'custom')).toEqual(['custom', 'custom']);
  });

  test('busy polling is off unless asked for; when set it reaches the gateway configuration; a bad value fails the synth', () => {
    expect(yamlOf(json)).not.toContain('tuning');
    expect(yamlOf(build({ busyPollMicroseconds: 1000 }))).toMatch(/tuning:\n {2}busyPollMicroseconds: 1000/);
    expect(() => build({ busyPollMicroseconds: -1 })).toThrow(/busyPollMicroseconds must be a whole number from 0 to 10000, got -1/);
  });

  test('an *.azurecr.io image needs registry naming that server (an anonymous ACR pull fails at apply, not at synth)', () => {
    expect(() => build({ registry: undefined })).toThrow(/image "example\.azurecr\.io\/gatehouse:test" is in Azure Container Registry example\.azurecr\.io, but registry is not set.*registry: \{ server: "example\.azurecr\.io"/);
    expect(() => build({ registry: { server: 'other.azurecr.io' } })).toThrow(/registry\.server is "other\.azurecr\.io".*set registry\.server to "example\.azurecr\.io"/);
    // A public image from elsewhere needs no registry.
    expect(() => build({ image: 'ghcr.io/acme/gatehouse:1', registry: undefined })).not.toThrow();
  });

  test('clients default to the VNet address space', () => {
    expect(all(json, 'azurerm_container_app')[0].ingress.ip_security_restriction.map((r: any) => r.ip_address_range)).toEqual(['10.40.0.0/16']);
  });

  test('network and database shape what the kit creates (the names the three kits share)', () => {
    const shaped = build({ network: { cidr: '10.60.0.0/16' }, database: { backupRetentionDays: 14 } });
    expect(all(shaped, 'azurerm_virtual_network').map((v) => v.address_space)).toEqual([['10.60.0.0/16']]);
    expect(all(shaped, 'azurerm_subnet').map((s) => s.address_prefixes[0]).sort()).toEqual(['10.60.0.0/23', '10.60.2.0/24', '10.60.3.0/24']);
    expect(all(shaped, 'azurerm_postgresql_flexible_server').map((s) => s.backup_retention_days)).toEqual([14]);
  });

  test('an existing database URL secret replaces the server, the bootstrap identity and the job', () => {
    const other = synth((s) => new Gatehouse(s, 'G', { resourceGroup: RG, tenantId: 't', image: IMAGE, registry: PROPS.registry, existingDatabase: { secret: 'pg-url' }, deployerCidrs: ['198.51.100.4/32'] }));
    expect(all(other, 'azurerm_postgresql_flexible_server')).toHaveLength(0);
    expect(all(other, 'azurerm_container_app_job')).toHaveLength(0);
    expect(other).toContain('/pg-url');
  });

  test('an existing database may name its CA and server name; the gateway verifies that server (state.caCert, state.serverName)', () => {
    let g!: Gatehouse;
    synth((s) => {
      g = new Gatehouse(s, 'G', { resourceGroup: RG, tenantId: 't', image: IMAGE, registry: PROPS.registry, existingDatabase: { secret: 'pg-url', caCert: 'azure-kv:corp-vault/pg-ca', serverName: 'pg.corp.example' }, deployerCidrs: ['198.51.100.4/32'] });
    });
    const state = parse(g.gateway.configYaml).state;
    expect(state).toEqual({ url: expect.stringMatching(/\/pg-url$/), caCert: 'azure-kv:corp-vault/pg-ca', serverName: 'pg.corp.example' });
  });

  test.each([
    ['no deployerCidrs while creating network and vault', { deployerCidrs: [] }, /deployerCidrs is required/],
    ['database with an existing database', { existingDatabase: { secret: 'x' }, database: { skuName: 'B_Standard_B1ms' } }, /conflicts with existingDatabase/],
    ['a network with an existing network', { existingNetwork: { virtualNetworkId: 'v', appsSubnetId: 'a', endpointsSubnetId: 'e', databaseSubnetId: 'd', clientCidrs: [] }, network: { cidr: '10.60.0.0/16' } }, /network applies to a created VNet; it conflicts with existingNetwork/],
    ['a duplicate connection', { connections: [{ name: 'a', spec: {} }, { name: 'a', spec: {} }] }, /given more than once/],
    ['a credential secret inside spec', { connections: [{ name: 'a', spec: { credential: { type: 'bearer', secret: 'env:X' } } }] }, /sets credential.secret/],
    ['a plain-http issuer', { issuers: [{ name: 'x', issuer: 'http://x', audiences: ['a'] }] }, /https URL/],
    ['a wildcard federation subject', { issuers: [{ name: 'x', issuer: 'https://x', audiences: ['a'], federation: { subjects: ['repo:acme/*'] } }] }, /wildcard/],
  ])('refuses %s', (_n, props, message) => {
    expect(() => build(props as Partial<GatehouseProps>)).toThrow(message);
  });
});
