// One test per row of the security parity table in docs/deployment.md (Azure column), each named
// with the row id. One synthesis of the complete construct serves them all.
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Gatehouse } from '../../../constructs/azure/gatehouse';
import { configSchema } from '../../../gateway/src/config/schema';
import { pgClientConfig } from '../../../gateway/src/state/pg-client-config';
import { resources, synth } from '../../support/cdktf';
import { IMAGE, RG } from './helpers';

const all = (json: string, type: string) => Object.values(resources(json, type)) as any[];
const only = (json: string, type: string, pick: (r: any) => boolean = () => true) => {
  const found = all(json, type).filter(pick);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0];
};
const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';

describe('Azure parity (docs/deployment.md)', () => {
  let json: string;
  let yaml: string;
  beforeAll(() => {
    json = synth((s) => new Gatehouse(s, 'G', {
      resourceGroup: RG,
      tenantId: 'tenant',
      image: IMAGE,
      registry: { server: 'example.azurecr.io' },
      deployerCidrs: ['198.51.100.4/32'],
      deployerPrincipalId: 'deployer',
      alarmEmail: 'ops@example.com',
      issuers: [{ name: 'ci', issuer: 'https://token.actions.githubusercontent.com', audiences: ['gatehouse'], federation: { subjects: ['repo:acme/audit:ref:refs/heads/main'] } }],
      connections: [{ name: 'anthropic', spec: { kind: 'http', upstream: 'https://api.anthropic.com', route: { pathPrefix: '/a' }, credential: { type: 'bearer' } } }],
    }));
    yaml = all(json, 'azurerm_container_app')[0].template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;
  });

  test('private-networking: no public address on the gateway, database, vault data or records', () => {
    const env = only(json, 'azurerm_container_app_environment');
    expect(env).toMatchObject({ internal_load_balancer_enabled: true, public_network_access: 'Disabled' });
    expect(only(json, 'azurerm_postgresql_flexible_server')).toMatchObject({ public_network_access_enabled: false, delegated_subnet_id: expect.any(String) });
    expect(only(json, 'azurerm_storage_account')).toMatchObject({ public_network_access_enabled: false, network_rules: { default_action: 'Deny', bypass: ['None'] } });
    // The vault's public endpoint admits only the deployer's ranges (Terraform creates keys there).
    expect(only(json, 'azurerm_key_vault').network_acls).toMatchObject({ default_action: 'Deny', ip_rules: ['198.51.100.4/32'] });
    for (const s of all(json, 'azurerm_subnet')) expect(s.default_outbound_access_enabled).toBe(false);
    expect(all(json, 'azurerm_private_endpoint').map((e) => e.private_service_connection.subresource_names[0]).sort()).toEqual(['blob', 'vault']);
  });

  test('internal-ingress-only: the environment has an internal load balancer and ingress admits only the client ranges', () => {
    for (const app of all(json, 'azurerm_container_app')) {
      expect(app.ingress.allow_insecure_connections).toBe(false);
      expect(app.ingress.ip_security_restriction.map((r: any) => [r.action, r.ip_address_range])).toEqual([['Allow', '10.40.0.0/16']]);
    }
    expect(only(json, 'azurerm_private_dns_a_record').records).toEqual([expect.stringMatching(/static_ip_address/)]);
  });

  test('customer-managed-keys: records and the database with HSM keys in a premium vault; secrets in that vault', () => {
    expect(only(json, 'azurerm_key_vault').sku_name).toBe('premium');
    const keys = Object.fromEntries(all(json, 'azurerm_key_vault_key').map((k) => [k.name, k.key_type]));
    expect(keys).toEqual({ 'gatehouse-record-signing': 'EC-HSM', 'gatehouse-records-cmk': 'RSA-HSM', 'gatehouse-state-cmk': 'RSA-HSM' });
    expect(only(json, 'azurerm_storage_account').customer_managed_key.key_vault_key_id).toMatch(/azurerm_key_vault_key\.G_Credentials_RecordsKey.*\.versionless_id/);
    expect(only(json, 'azurerm_postgresql_flexible_server').customer_managed_key).toMatchObject({
      key_vault_key_id: expect.stringMatching(/G_Credentials_StateKey.*\.versionless_id/),
      primary_user_assigned_identity_id: expect.stringMatching(/G_EncryptionIdentity/),
    });
    // Each service is created only after its identity's key role has had time to propagate.
    expect(only(json, 'azurerm_storage_account').depends_on).toContainEqual(expect.stringMatching(/^terraform_data\.G_RecordsKeySettled/));
    expect(only(json, 'azurerm_postgresql_flexible_server').depends_on).toContainEqual(expect.stringMatching(/^terraform_data\.G_StateKeySettled/));
    const cmkRoles = all(json, 'azurerm_role_assignment').filter((a) => a.role_definition_name === 'Key Vault Crypto Service Encryption User');
    expect(cmkRoles).toHaveLength(2);
    for (const r of cmkRoles) expect(r.scope).toMatch(/azurerm_key_vault_key\..*\.resource_versionless_id/);
  });

  test('record-overwrite-delete-prevention: a locked container policy, and no principal may overwrite or delete', () => {
    expect(only(json, 'azurerm_storage_container_immutability_policy')).toMatchObject({ locked: true, immutability_period_in_days: 365 });
    expect(only(json, 'azurerm_storage_account').blob_properties.versioning_enabled).toBe(true);
    const recordRoles = all(json, 'azurerm_role_definition').filter((d) => d.permissions[0].data_actions.some((a: string) => a.startsWith(BLOBS)));
    expect(recordRoles).toHaveLength(2);
    for (const d of recordRoles) {
      expect(d.permissions[0].data_actions).not.toContain(`${BLOBS}/write`);
      expect(d.permissions[0].data_actions).not.toContain(`${BLOBS}/delete`);
      expect(d.permissions[0].actions).toEqual([]);
    }
    expect(yaml).toMatch(/sink:\n\s+type: azure-blob/);
  });

  test('access-audit-logs-delivered: blob, vault, database and gateway logs arrive in Log Analytics', () => {
    const settings = Object.fromEntries(all(json, 'azurerm_monitor_diagnostic_setting').map((d) => [d.name, d]));
    expect(Object.keys(settings).sort()).toEqual(['gatehouse-environment-logs', 'gatehouse-record-access', 'gatehouse-state-logs', 'gatehouse-vault-audit']);
    for (const d of Object.values(settings) as any[]) expect(d.log_analytics_workspace_id).toMatch(/azurerm_log_analytics_workspace\.G_Logs.*\.id/);
    expect(settings['gatehouse-record-access'].target_resource_id).toMatch(/\/blobServices\/default$/);
    expect(settings['gatehouse-vault-audit'].enabled_log).toEqual([{ category: 'AuditEvent' }]);
    // The workspace has local authentication disabled: the environment must not use its shared key.
    expect(only(json, 'azurerm_log_analytics_workspace').local_authentication_enabled).toBe(false);
    expect(only(json, 'azurerm_container_app_environment').logs_destination).toBe('azure-monitor');
    expect(settings['gatehouse-environment-logs'].enabled_log).toEqual([{ category: 'ContainerAppConsoleLogs' }, { category: 'ContainerAppSystemLogs' }]);
    // The alerts read the table the setting fills.
    for (const a of all(json, 'azurerm_monitor_scheduled_query_rules_alert_v2')) expect(a.criteria[0].query).toMatch(/^ContainerAppConsoleLogs \|/);
  });

  test('alarm-unhealthy-replicas: a metric alert per app when ready replicas fall below the floor, to the operator', () => {
    const alerts = all(json, 'azurerm_monitor_metric_alert');
    expect(alerts).toHaveLength(all(json, 'azurerm_container_app').length);
    for (const a of alerts) {
      expect(a.criteria[0]).toMatchObject({ metric_namespace: 'Microsoft.App/containerApps', metric_name: 'Replicas', operator: 'LessThan', threshold: 2 });
      expect(a.action[0].action_group_id).toMatch(/azurerm_monitor_action_group\./);
    }
    expect(only(json, 'azurerm_monitor_action_group').email_receiver).toEqual([expect.objectContaining({ email_address: 'ops@example.com' })]);
  });

  test('alarm-5xx-rate: a log alert on the share of responses with status >= 500', () => {
    const alert = only(json, 'azurerm_monitor_scheduled_query_rules_alert_v2', (a) => a.name === 'gatehouse-5xx-rate');
    expect(alert.criteria[0].query).toMatch(/countif\(toint\(entry\.status\) >= 500\)\) \/ count\(\)/);
    expect(alert.criteria[0]).toMatchObject({ operator: 'GreaterThan', threshold: 0.05 });
    expect(alert.scopes).toEqual([expect.stringMatching(/azurerm_log_analytics_workspace/)]);
    // Notified: an alert without an action group fires into the portal only.
    expect(alert.action.action_groups).toEqual([expect.stringMatching(/azurerm_monitor_action_group/)]);
  });

  test('alarm-recording-failures: a log alert on the first GH_ERR_RECORDING_* code', () => {
    const alert = only(json, 'azurerm_monitor_scheduled_query_rules_alert_v2', (a) => a.name === 'gatehouse-recording-failures');
    expect(alert.criteria[0].query).toContain("startswith 'GH_ERR_RECORDING_'");
    expect(alert.criteria[0]).toMatchObject({ operator: 'GreaterThan', threshold: 0 });
    expect(alert.action.action_groups).toEqual([expect.stringMatching(/azurerm_monitor_action_group/)]);
  });

  test('federation-exact-subjects: one federated credential per exact subject, on a read-only identity that is not the gateway', () => {
    const fic = only(json, 'azurerm_federated_identity_credential');
    expect(fic).toMatchObject({ issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/audit:ref:refs/heads/main' });
    expect(fic.parent_id).toMatch(/Federation-ci/);
    expect(() => synth((s) => new Gatehouse(s, 'G', {
      resourceGroup: RG, tenantId: 't', image: IMAGE, registry: { server: 'example.azurecr.io' }, deployerCidrs: ['198.51.100.4/32'],
      issuers: [{ name: 'ci', issuer: 'https://x', audiences: ['a'], federation: { subjects: ['repo:acme/*'] } }],
    }))).toThrow(/wildcard/);
  });

  test('graceful-drain-within-termination-window: Container Apps waits 30 s after SIGTERM, beyond the gateway\'s 25 s drain', () => {
    // The gateway's own default drain (the emitted config leaves shutdownGraceSeconds out).
    const drain = configSchema.shape.shutdownGraceSeconds.parse(undefined) as number;
    expect(drain).toBe(25);
    for (const app of all(json, 'azurerm_container_app')) {
      expect(app.template.termination_grace_period_seconds).toBeGreaterThan(drain);
      // Out of rotation while draining: readiness is /readyz, which reports not ready once shutdown
      // starts (gateway/src/server/gateway.ts: ready = !shuttingDown && healthy).
      expect(app.template.container[0].readiness_probe[0].path).toBe('/readyz');
    }
    expect(yaml).not.toContain('shutdownGraceSeconds');
  });

  test('hsm-signing-key: the record-signing key is EC-HSM P-256 (sign/verify) in Key Vault; the gateway may sign, verifiers only read', () => {
    const key = only(json, 'azurerm_key_vault_key', (k) => k.name === 'gatehouse-record-signing');
    expect(key).toMatchObject({ key_type: 'EC-HSM', curve: 'P-256', key_opts: ['sign', 'verify'] });
    expect(yaml).toMatch(/signingKey: azure-kv-key:https:\/\/.+\.vault\.azure\.net\/keys\/gatehouse-record-signing/);
    const onKey = all(json, 'azurerm_role_assignment').filter((a) => /G_Credentials_SigningKey/.test(a.scope));
    expect(onKey.map((a) => a.role_definition_name ?? 'key reader').sort()).toEqual(['Key Vault Crypto User', 'key reader']);
  });

  test('least-privilege-state-database: Entra only, a bootstrap admin that is not the gateway, the gateway as its own role with verify-full', () => {
    const server = only(json, 'azurerm_postgresql_flexible_server');
    expect(server.authentication).toMatchObject({ active_directory_auth_enabled: true, password_auth_enabled: false });
    expect(server.administrator_password).toBeUndefined();
    const admin = only(json, 'azurerm_postgresql_flexible_server_active_directory_administrator');
    expect(admin.object_id).toMatch(/G_BootstrapIdentity/);
    expect(yaml).toMatch(/url: postgresql:\/\/gatehouse-gateway@.*sslmode=verify-full\n {2}iamAuth: azure-entra/);
    const job = only(json, 'azurerm_container_app_job');
    expect(job.template.container[0].args).toEqual(expect.arrayContaining(['bootstrap-state', '--app-role', 'gatehouse-gateway']));
  });

  test('state-database-verified-tls: verify-full on the server FQDN against Node\'s root store, which holds Azure\'s PostgreSQL roots', () => {
    // https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-ssl-tls:
    // server certificates chain to DigiCert Global Root G2 or Microsoft RSA Root Certificate
    // Authority 2017. Without state.caCert the gateway verifies against Node's bundled (Mozilla)
    // store, not the image's /etc/ssl/certs; both roots are in it (SHA-256 fingerprints as published).
    const state = /\nstate:\n((?: {2}.*\n)+)/.exec(yaml)![1]!;
    expect(state).toMatch(/^ {2}url: postgresql:\/\/gatehouse-gateway@\$\{azurerm_postgresql_flexible_server\.[^}]+\.fqdn\}:5432\/gatehouse\?sslmode=verify-full$/m);
    expect(state).not.toMatch(/caCert|serverName|sslMode/);
    const roots = rootCertificates.map((pem) => new X509Certificate(pem).fingerprint256);
    expect(roots).toEqual(expect.arrayContaining([
      'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F', // DigiCert Global Root G2
      'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0', // Microsoft RSA Root Certificate Authority 2017
    ]));
    // The client the gateway builds for that URL: verified, with the default (Node) roots, the URL's host as the name.
    const client = pgClientConfig({ url: 'postgresql://gatehouse-gateway@gh.postgres.database.azure.com:5432/gatehouse?sslmode=verify-full', iamAuth: 'azure-entra', password: async () => 't' });
    expect(client.ssl).toEqual({ rejectUnauthorized: true });
  });
});
