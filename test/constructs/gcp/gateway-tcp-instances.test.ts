import { ComputeForwardingRule } from '@cdktf/provider-google/lib/compute-forwarding-rule';
import { ComputeRegionInstanceTemplate } from '@cdktf/provider-google/lib/compute-region-instance-template';
import { GatewayTcpInstances, type GatewayTcpInstancesProps } from '../../../constructs/gcp/gateway-tcp-instances';
import { TerraformStack } from 'cdktf';
import { parse } from 'yaml';
import { emittedConfigProblems } from '../../../stacks/gateway-config-check';
import { Testing, onlyResource, resources, synth } from '../../support/cdktf';

const base: GatewayTcpInstancesProps = {
  region: 'europe-west1',
  image: 'europe-docker.pkg.dev/p/r/gw:1',
  network: 'projects/p/global/networks/n',
  subnetwork: 'projects/p/regions/europe-west1/subnetworks/s',
  serviceAccountEmail: 'gw@p.iam.gserviceaccount.com',
  tcpProtocols: ['postgres', 'ssh'],
  clientCidrs: ['10.50.0.0/20'],
  sshHostKey: 'gcp-sm:projects/p/secrets/gatehouse-ssh-host-key/versions/latest',
  tcpTls: { cert: 'gcp-sm:projects/p/secrets/pg-cert/versions/latest', key: 'gcp-sm:projects/p/secrets/pg-key/versions/latest' },
};

describe('GatewayTcpInstances (Compute Engine + internal passthrough load balancer)', () => {
  test('its listeners are ones the gateway accepts: PostgreSQL with TLS, SSH with its host key; without those secrets, synth refuses', () => {
    // gateway/src/config/schema.ts + load.ts: an SSH listener needs hostKey and has no allowPlaintext;
    // PostgreSQL on 0.0.0.0 needs tls. Before, the kit emitted { allowPlaintext: false } for both, and every VM's gateway refused it.
    const t = new GatewayTcpInstances(new TerraformStack(Testing.app(), 's'), 'T', { ...base, config: { mode: 'development', identity: { devIssuer: { enabled: true } } } });
    expect(emittedConfigProblems(t.configYaml)).toEqual([]);
    expect(parse(t.configYaml).listeners.ssh).toEqual({ address: '0.0.0.0', port: 2222, hostKey: base.sshHostKey });
    expect(parse(t.configYaml).listeners.postgres).toEqual({ address: '0.0.0.0', port: 5432, tls: base.tcpTls });
    expect(() => synth((s) => new GatewayTcpInstances(s, 'T', { ...base, sshHostKey: undefined }))).toThrow(/tcpProtocols "ssh" needs sshHostKey/);
    expect(() => synth((s) => new GatewayTcpInstances(s, 'T', { ...base, tcpTls: undefined }))).toThrow(/tcpProtocols "postgres" needs tcpTls/);
  });

  test('an internal passthrough load balancer on the protocol ports', () => {
    expect(synth((s) => new GatewayTcpInstances(s, 'T', base))).toHaveResourceWithProperties(ComputeForwardingRule, {
      load_balancing_scheme: 'INTERNAL',
      ip_protocol: 'TCP',
      ports: ['5432', '2222'],
    });
  });

  test('VMs without external IPs, Shielded VM, OS Login, project SSH keys blocked, the gateway service account', () => {
    const json = synth((s) => new GatewayTcpInstances(s, 'T', base));
    expect(json).toHaveResourceWithProperties(ComputeRegionInstanceTemplate, {
      shielded_instance_config: { enable_secure_boot: true, enable_vtpm: true, enable_integrity_monitoring: true },
      service_account: { email: 'gw@p.iam.gserviceaccount.com', scopes: ['cloud-platform'] },
    });
    const template = onlyResource(json, 'google_compute_region_instance_template');
    expect(template.network_interface).toEqual([{ network: base.network, subnetwork: base.subnetwork }]);
    expect(template.metadata).toMatchObject({ 'enable-oslogin': 'TRUE', 'block-project-ssh-keys': 'TRUE', 'serial-port-enable': 'FALSE' });
  });

  test('the container runs read-only, non-root, without capabilities, configured from a read-only file', () => {
    const userData: string = onlyResource(synth((s) => new GatewayTcpInstances(s, 'T', base)), 'google_compute_region_instance_template').metadata['user-data'];
    expect(userData).toMatch(/docker run .*--read-only --tmpfs \/tmp --user 65532:65532 --cap-drop ALL/);
    expect(userData).toContain('-v /etc/gatehouse/config.yaml:/etc/gatehouse/config.yaml:ro -e GATEHOUSE_CONFIG=/etc/gatehouse/config.yaml europe-docker.pkg.dev/p/r/gw:1');
    expect(userData).toContain('configure-docker --registries europe-docker.pkg.dev');
  });

  test('the configuration opens the protocols, keeps HTTP on loopback and the admin port for health checks', () => {
    let yaml = '';
    synth((s) => void (yaml = new GatewayTcpInstances(s, 'T', base).configYaml));
    expect(yaml).toMatch(/http:\n\s+address: 127\.0\.0\.1/);
    expect(yaml).toMatch(/postgres:\n\s+address: 0\.0\.0\.0\n\s+port: 5432\n\s+tls:/);
    expect(yaml).toMatch(/ssh:\n\s+address: 0\.0\.0\.0\n\s+port: 2222/);
  });

  test('firewall: clients on the protocol ports only; health-check probers on the admin port only', () => {
    const rules = Object.values(resources(synth((s) => new GatewayTcpInstances(s, 'T', base)), 'google_compute_firewall')) as any[];
    const byName = Object.fromEntries(rules.map((r) => [r.name, [r.source_ranges, r.allow]]));
    expect(byName).toEqual({
      'gatehouse-tcp-clients': [['10.50.0.0/20'], [{ protocol: 'tcp', ports: ['5432', '2222'] }]],
      'gatehouse-tcp-health-checks': [['35.191.0.0/16', '130.211.0.0/22'], [{ protocol: 'tcp', ports: ['9090'] }]],
    });
  });

  test('health checks on readiness (/readyz) drive the load balancer and autohealing; at least two instances', () => {
    const json = synth((s) => new GatewayTcpInstances(s, 'T', base));
    expect(onlyResource(json, 'google_compute_region_health_check').http_health_check).toEqual({ port: 9090, request_path: '/readyz' });
    expect(onlyResource(json, 'google_compute_region_instance_group_manager').auto_healing_policies.health_check).toMatch(/google_compute_region_health_check\./);
    expect(onlyResource(json, 'google_compute_region_autoscaler').autoscaling_policy.min_replicas).toBe(2);
  });

  test.each([
    [{ tcpProtocols: [] }, /at least one protocol/],
    [{ clientCidrs: ['0.0.0.0/0'] }, /narrower than 0\.0\.0\.0\/0/],
    [{ instances: { min: 1, max: 2 } }, /2 <= min <= max/],
  ])('refuses %j', (props, message) => {
    expect(() => synth((s) => new GatewayTcpInstances(s, 'T', { ...base, ...props } as GatewayTcpInstancesProps))).toThrow(message);
  });
});
