import { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment';
import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { GatewayContainerApps, type GatewayContainerAppsProps } from '../../../constructs/azure/gateway-container-apps';
import { TerraformStack } from 'cdktf';
import { parse } from 'yaml';
import { emittedConfigProblems } from '../../../stacks/gateway-config-check';
import { parseConfig } from '../../../gateway/src/config/load';
import { buildWellKnownDocument } from '../../../gateway/src/server/well-known';
import { connectionsOfEveryKind } from '../../support/connection-specs';
import { Testing, onlyResource, resources, synth } from '../../support/cdktf';
import { IMAGE, RG, SUBNET_ID, VNET_ID } from './helpers';

const base: GatewayContainerAppsProps = {
  resourceGroup: RG,
  image: IMAGE,
  identity: { id: '/identities/gw', clientId: 'client-gw' },
  infrastructureSubnetId: SUBNET_ID,
  logAnalyticsWorkspaceId: '/workspaces/logs',
  virtualNetworkId: VNET_ID,
  clientCidrs: ['10.40.0.0/16'],
};
const apps = (json: string) => Object.values(resources(json, 'azurerm_container_app')) as any[];

describe('GatewayContainerApps', () => {
  test('the environment sits in the VNet behind an internal load balancer, with no public network access', () => {
    const json = synth((s) => new GatewayContainerApps(s, 'G', base));
    expect(json).toHaveResourceWithProperties(ContainerAppEnvironment, {
      internal_load_balancer_enabled: true,
      public_network_access: 'Disabled',
      infrastructure_subnet_id: SUBNET_ID,
    });
  });

  // container_app_environment_resource.go (Create): destination "log-analytics" ships logs with the
  // workspace's shared key (getSharedKeyForWorkspace); the kit's workspace has local authentication
  // disabled, which refuses shared-key ingestion (learn.microsoft.com/azure/azure-monitor/logs/
  // azure-ad-authentication-logs), so logs go through Azure Monitor, a diagnostic setting. The same
  // file refuses log_analytics_workspace_id unless the destination is "log-analytics".
  test('console and system logs reach Log Analytics through a diagnostic setting, not a shared key', () => {
    const json = synth((s) => new GatewayContainerApps(s, 'G', base));
    const env = onlyResource(json, 'azurerm_container_app_environment');
    expect(env.logs_destination).toBe('azure-monitor');
    expect(env.log_analytics_workspace_id).toBeUndefined();
    expect(onlyResource(json, 'azurerm_monitor_diagnostic_setting')).toMatchObject({
      target_resource_id: expect.stringMatching(/azurerm_container_app_environment\..*\.id/),
      log_analytics_workspace_id: '/workspaces/logs',
      log_analytics_destination_type: 'Dedicated',
      enabled_log: [{ category: 'ContainerAppConsoleLogs' }, { category: 'ContainerAppSystemLogs' }],
    });
  });

  test('its listeners are ones the gateway accepts: PostgreSQL with TLS, SSH with its host key; without those secrets, synth refuses', () => {
    // gateway/src/config/schema.ts + load.ts: an SSH listener needs hostKey and has no allowPlaintext;
    // PostgreSQL on 0.0.0.0 needs tls. Before, the kit emitted { allowPlaintext: false } for both, and every replica refused it.
    const config = { mode: 'development', identity: { devIssuer: { enabled: true } } };
    const ga = new GatewayContainerApps(new TerraformStack(Testing.app(), 's'), 'G', { ...base, config, tcpProtocols: ['postgres', 'ssh'], sshHostKey: 'azure-kv:v/ssh-host-key', tcpTls: { cert: 'azure-kv:v/pg-cert', key: 'azure-kv:v/pg-key' } });
    expect(emittedConfigProblems(ga.configYaml)).toEqual([]);
    expect(parse(ga.configYaml).listeners.ssh).toEqual({ address: '0.0.0.0', port: 2222, hostKey: 'azure-kv:v/ssh-host-key', advertise: { port: 22 } });
    expect(parse(ga.configYaml).listeners.postgres).toEqual({ address: '0.0.0.0', port: 5432, tls: { cert: 'azure-kv:v/pg-cert', key: 'azure-kv:v/pg-key' } });
    expect(() => synth((s) => new GatewayContainerApps(s, 'G', { ...base, tcpProtocols: ['ssh'] }))).toThrow(/tcpProtocols "ssh" needs sshHostKey/);
    expect(() => synth((s) => new GatewayContainerApps(s, 'G', { ...base, tcpProtocols: ['postgres'] }))).toThrow(/tcpProtocols "postgres" needs tcpTls/);
  });

  test('every listener of the port plan is reachable: one app each, on its port', () => {
    const json = synth((s) => new GatewayContainerApps(s, 'G', { ...base, tcpProtocols: ['postgres', 'ssh'], sshHostKey: 'azure-kv:v/ssh-host-key', tcpTls: { cert: 'azure-kv:v/pg-cert', key: 'azure-kv:v/pg-key' } }));
    const ingress = Object.fromEntries(apps(json).map((a) => [a.name, [a.ingress.transport, a.ingress.target_port, a.ingress.exposed_port]]));
    expect(ingress).toEqual({
      'gatehouse-http': ['auto', 8443, undefined],
      'gatehouse-admin': ['auto', 9090, undefined],
      'gatehouse-postgres': ['tcp', 5432, 5432],
      'gatehouse-ssh': ['tcp', 2222, 22],
    });
  });

  // TCP ingress listens on exposedPort and forwards to targetPort (ingress-how-to, `exposedPort`):
  // SSH is reached on 22, the container binds 2222. Before, the document told clients 2222.
  test('/.well-known/gatehouse tells clients the port the TCP ingress exposes (SSH 22, PostgreSQL 5432), not the container\'s', () => {
    const connections = connectionsOfEveryKind('azure-kv:v/user-key').filter((c) => c.spec.kind === 'ssh' || c.spec.kind === 'postgres').map((c) => ({ name: c.name, ...c.spec }));
    const config = { mode: 'development', identity: { devIssuer: { enabled: true } }, connections };
    const json = synth((s) => new GatewayContainerApps(s, 'G', { ...base, config, tcpProtocols: ['postgres', 'ssh'], sshHostKey: 'azure-kv:v/ssh-host-key', tcpTls: { cert: 'azure-kv:v/pg-cert', key: 'azure-kv:v/pg-key' } }));
    const byName = new Map(apps(json).map((a) => [a.name as string, a]));
    // The document the ssh app's replicas are given, as they parse it, and what they would serve
    // once their listeners are bound on the container ports.
    const yaml = byName.get('gatehouse-ssh').template.container[0].env.find((e: { name: string }) => e.name === 'GATEHOUSE_CONFIG_YAML').value;
    const parsed = parseConfig(yaml);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const doc = buildWellKnownDocument(parsed.config, { postgres: { port: 5432 }, ssh: { port: 2222, hostKey: 'ssh-ed25519 AAAA', hostKeyFingerprint: 'SHA256:x' } });
    const port = (kind: string) => doc.connections.find((c) => c.kind === kind) as { port: number; host?: string } | undefined;
    expect(port('ssh')).toMatchObject({ port: byName.get('gatehouse-ssh').ingress.exposed_port });
    expect(port('ssh')!.port).toBe(22);
    expect(port('ssh')!.host).toBeUndefined(); // the gateway URL's host: every app shares the environment's inbound IP
    expect(port('postgres')).toMatchObject({ port: byName.get('gatehouse-postgres').ingress.exposed_port });
  });

  test('ingress refuses plain HTTP and admits only the client ranges', () => {
    for (const app of apps(synth((s) => new GatewayContainerApps(s, 'G', base)))) {
      expect(app.ingress.allow_insecure_connections).toBe(false);
      expect(app.ingress.ip_security_restriction).toEqual([expect.objectContaining({ action: 'Allow', ip_address_range: '10.40.0.0/16' })]);
    }
  });

  // A replica started before its secrets, signing key or database role exist must stay alive
  // and out of rotation (gateway admin: /healthz = live, /readyz = 503 until ready), not restart.
  test('at least two replicas; startup and liveness on /healthz, readiness on /readyz, at the admin port', () => {
    for (const app of apps(synth((s) => new GatewayContainerApps(s, 'G', base)))) {
      expect(app.template.min_replicas).toBeGreaterThanOrEqual(2);
      const container = app.template.container[0];
      for (const probe of ['startup_probe', 'liveness_probe']) {
        expect(container[probe]).toEqual([expect.objectContaining({ transport: 'HTTP', port: 9090, path: '/healthz' })]);
      }
      expect(container.readiness_probe).toEqual([expect.objectContaining({ transport: 'HTTP', port: 9090, path: '/readyz' })]);
    }
  });

  test('size is vCPU and MiB (memory rendered in Gi); the apps wait for what they are given in dependsOn', () => {
    const json = synth((s) => {
      const zone = new PrivateDnsZone(s, 'Dep', { name: 'x.example', resourceGroupName: 'rg' });
      new GatewayContainerApps(s, 'G', { ...base, size: { cpu: 0.5, memoryMiB: 1024 }, dependsOn: [zone] });
    });
    for (const app of apps(json)) {
      expect(app.template.container[0]).toMatchObject({ cpu: 0.5, memory: '1Gi' });
      expect(app.depends_on).toEqual([expect.stringMatching(/^azurerm_private_dns_zone\.Dep/)]);
    }
  });

  test('the user-assigned identity is the app identity and nothing else (no system identity, no registry password)', () => {
    const json = synth((s) => new GatewayContainerApps(s, 'G', { ...base, registryServer: 'example.azurecr.io' }));
    for (const app of apps(json)) {
      expect(app.identity).toEqual({ type: 'UserAssigned', identity_ids: ['/identities/gw'] });
      expect(app.registry).toEqual([{ server: 'example.azurecr.io', identity: '/identities/gw' }]);
      expect(app.secret).toBeUndefined();
      expect(app.template.container[0].env).toContainEqual({ name: 'AZURE_CLIENT_ID', value: 'client-gw' });
    }
  });

  test('the configuration travels in GATEHOUSE_CONFIG_YAML with the listeners of the port plan', () => {
    const app = apps(synth((s) => new GatewayContainerApps(s, 'G', { ...base, config: { mode: 'production' } })))[0];
    const yaml = app.template.container[0].env.find((e: any) => e.name === 'GATEHOUSE_CONFIG_YAML').value;
    expect(yaml).toContain('mode: production');
    expect(yaml).toMatch(/http:\n\s+address: 0\.0\.0\.0\n\s+port: 8443/);
  });

  test('the default domain resolves privately to the internal load balancer', () => {
    const json = synth((s) => new GatewayContainerApps(s, 'G', base));
    expect(onlyResource(json, 'azurerm_private_dns_a_record')).toMatchObject({ name: '*', records: [expect.stringMatching(/static_ip_address/)] });
  });

  test.each([
    [{ replicas: { min: 1, max: 3 } }, /2 <= min <= max/],
    [{ config: { listeners: {} } }, /config.listeners is set by the port plan/],
    [{ environmentId: '/env' }, /either environmentId .* or infrastructureSubnetId/],
    [{ clientCidrs: ['everyone'] }, /IPv4 CIDRs/],
    [{ size: { cpu: 1, memoryMiB: 1000 } }, /Consumption combination/],
  ])('refuses %j', (props, message) => {
    expect(() => synth((s) => new GatewayContainerApps(s, 'G', { ...base, ...props } as GatewayContainerAppsProps))).toThrow(message);
  });
});
