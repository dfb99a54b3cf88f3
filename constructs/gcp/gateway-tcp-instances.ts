import { ComputeFirewall, ComputeForwardingRule, ComputeRegionAutoscaler, ComputeRegionBackendService, ComputeRegionHealthCheck, ComputeRegionInstanceGroupManager, ComputeRegionInstanceTemplate } from './providers';
import { Fn, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { renderGatewayConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GATEWAY_PORTS, HEALTH_CHECK, READINESS_CHECK, type GatewayTcpProtocol, tcpListenerConfig, type TcpListenerSecrets } from '../core/gateway-ports';

export interface GatewayTcpInstancesProps {
  readonly region: string;
  /** The same gateway image Cloud Run runs (Artifact Registry). */
  readonly image: string;
  /** VPC (`projects/<p>/global/networks/<n>`). */
  readonly network: string;
  /** Subnet in `region` (no external IPs; Private Google Access pulls the image). */
  readonly subnetwork: string;
  /** The gateway's service account (the same one Cloud Run runs as). */
  readonly serviceAccountEmail: string;
  /** TCP protocols to serve (at least one). */
  readonly tcpProtocols: readonly GatewayTcpProtocol[];
  /** Address ranges allowed to reach the load balancer. */
  readonly clientCidrs: readonly string[];
  /**
   * The gateway configuration without `listeners` (the same document Cloud Run gets).
   * @default {}
   */
  readonly config?: GatewayConfigDocument;
  /**
   * Instance bounds (autoscaled on CPU; spread over the region's zones).
   * @default { min: 2, max: 6 }
   */
  readonly instances?: { readonly min: number; readonly max: number };
  /** @default 'e2-standard-2' */
  readonly machineType?: string;
  /**
   * Secret references the TCP listeners need (`tcpTls` with postgres or mysql, `sshHostKey` with
   * ssh), e.g. `gcp-sm:projects/<p>/secrets/<id>/versions/latest`. The gateway's service account
   * must be able to read them (the kit grants nothing on references you give).
   * @default none
   */
  readonly tcpTls?: TcpListenerSecrets['tcpTls'];
  readonly sshHostKey?: string;
  /**
   * What must exist before the first VM starts the gateway (its grants, database user, the state
   * bootstrap): the same list the Cloud Run service waits for.
   * @default none
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/** Google's health-check probers (documented ranges). */
const HEALTH_CHECK_RANGES = ['35.191.0.0/16', '130.211.0.0/22'];

/**
 * The kit's answer to the TCP protocols Cloud Run cannot serve (PostgreSQL, MySQL, SSH): the same
 * image on a regional managed instance group of Container-Optimized OS VMs (no external IPs,
 * Shielded VM, OS Login, project SSH keys blocked, the gateway's service account), behind an
 * internal passthrough Network Load Balancer. A passthrough balancer does not translate ports, so
 * clients connect to the container ports (5432, 3306, 2222). Health checks and autohealing use
 * `GET /readyz` on the admin port; firewall rules admit the client ranges on the protocol ports
 * and Google's probers on the admin port, nothing else.
 *
 * The container runs read-only, as user 65532, with every capability dropped; its configuration is
 * a root-owned file mounted read-only (`GATEHOUSE_CONFIG`).
 */
export class GatewayTcpInstances extends Construct {
  public readonly template: ComputeRegionInstanceTemplate;
  public readonly group: ComputeRegionInstanceGroupManager;
  public readonly autoscaler: ComputeRegionAutoscaler;
  public readonly healthCheck: ComputeRegionHealthCheck;
  public readonly backendService: ComputeRegionBackendService;
  public readonly forwardingRule: ComputeForwardingRule;
  public readonly configYaml: string;
  public readonly ports: readonly number[];

  constructor(scope: Construct, id: string, props: GatewayTcpInstancesProps) {
    super(scope, id);
    const protocols = [...new Set(props.tcpProtocols)];
    if (protocols.length === 0) throw new Error('GatewayTcpInstances: tcpProtocols must name at least one protocol');
    if (props.clientCidrs.length === 0) throw new Error('GatewayTcpInstances: clientCidrs must name at least one range (who may connect)');
    for (const cidr of props.clientCidrs) {
      if (!Token.isUnresolved(cidr) && (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr) || cidr === '0.0.0.0/0')) {
        throw new Error(`GatewayTcpInstances: clientCidrs entries must be IPv4 CIDRs narrower than 0.0.0.0/0, got "${cidr}"`);
      }
    }
    if (props.config && 'listeners' in props.config) {
      throw new Error('GatewayTcpInstances: config.listeners is set by the port plan; remove it from config');
    }
    const { min, max } = props.instances ?? { min: 2, max: 6 };
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 2 || max < min) {
      throw new Error(`GatewayTcpInstances: instances needs integers with 2 <= min <= max (two zones), got min ${min}, max ${max}`);
    }
    this.ports = protocols.map((p) => GATEWAY_PORTS[p].containerPort);
    const listeners: Record<string, unknown> = {
      // HTTP is Cloud Run's; here it listens on loopback only.
      http: { address: '127.0.0.1', port: GATEWAY_PORTS.http.containerPort, allowPlaintext: true },
      admin: { address: '0.0.0.0', port: HEALTH_CHECK.port, allowPlaintext: true },
    };
    for (const p of protocols) listeners[p] = tcpListenerConfig(p, props, 'GatewayTcpInstances');
    this.configYaml = renderGatewayConfig({ ...(props.config ?? {}), listeners });

    const registry = props.image.split('/')[0]!;
    const tag = 'gatehouse-tcp';
    this.template = new ComputeRegionInstanceTemplate(this, 'Template', {
      namePrefix: 'gatehouse-tcp-',
      region: props.region,
      machineType: props.machineType ?? 'e2-standard-2',
      tags: [tag],
      disk: [{ sourceImage: 'cos-cloud/cos-stable', autoDelete: true, boot: true, diskSizeGb: 20, diskType: 'pd-balanced' }],
      networkInterface: [{ network: props.network, subnetwork: props.subnetwork }],
      serviceAccount: { email: props.serviceAccountEmail, scopes: ['cloud-platform'] },
      shieldedInstanceConfig: { enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true },
      metadata: {
        'enable-oslogin': 'TRUE',
        'block-project-ssh-keys': 'TRUE',
        'serial-port-enable': 'FALSE',
        'google-logging-enabled': 'true',
        'user-data': cloudInit(registry, props.image, Fn.base64encode(this.configYaml)),
      },
      lifecycle: { createBeforeDestroy: true },
    });

    this.healthCheck = new ComputeRegionHealthCheck(this, 'HealthCheck', {
      name: 'gatehouse-tcp-health',
      region: props.region,
      checkIntervalSec: 10,
      timeoutSec: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      // Readiness: the balancer sends nothing to a VM that cannot serve; autohealing (after its
      // initial delay) replaces one that never becomes ready, as it did one whose gateway exited.
      httpHealthCheck: { port: READINESS_CHECK.port, requestPath: READINESS_CHECK.path },
      logConfig: { enable: true },
    });

    this.group = new ComputeRegionInstanceGroupManager(this, 'Group', {
      name: 'gatehouse-tcp',
      region: props.region,
      baseInstanceName: 'gatehouse-tcp',
      version: [{ instanceTemplate: this.template.selfLink, name: 'gateway' }],
      autoHealingPolicies: { healthCheck: this.healthCheck.id, initialDelaySec: 120 },
      updatePolicy: { type: 'PROACTIVE', minimalAction: 'REPLACE', maxSurgeFixed: 3, maxUnavailableFixed: 0 },
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });
    this.autoscaler = new ComputeRegionAutoscaler(this, 'Autoscaler', {
      name: 'gatehouse-tcp',
      region: props.region,
      target: this.group.id,
      autoscalingPolicy: { minReplicas: min, maxReplicas: max, cooldownPeriod: 120, cpuUtilization: { target: 0.6 } },
    });

    this.backendService = new ComputeRegionBackendService(this, 'Backend', {
      name: 'gatehouse-tcp',
      region: props.region,
      loadBalancingScheme: 'INTERNAL',
      protocol: 'TCP',
      healthChecks: [this.healthCheck.id],
      connectionDrainingTimeoutSec: 30,
      backend: [{ group: this.group.instanceGroup, balancingMode: 'CONNECTION' }],
      logConfig: { enable: true, sampleRate: 1 },
    });
    this.forwardingRule = new ComputeForwardingRule(this, 'Frontend', {
      name: 'gatehouse-tcp',
      region: props.region,
      loadBalancingScheme: 'INTERNAL',
      ipProtocol: 'TCP',
      ports: this.ports.map(String),
      backendService: this.backendService.id,
      network: props.network,
      subnetwork: props.subnetwork,
    });

    new ComputeFirewall(this, 'Clients', {
      name: 'gatehouse-tcp-clients',
      network: props.network,
      direction: 'INGRESS',
      sourceRanges: [...props.clientCidrs],
      targetTags: [tag],
      allow: [{ protocol: 'tcp', ports: this.ports.map(String) }],
      logConfig: { metadata: 'INCLUDE_ALL_METADATA' },
    });
    new ComputeFirewall(this, 'HealthChecks', {
      name: 'gatehouse-tcp-health-checks',
      network: props.network,
      direction: 'INGRESS',
      sourceRanges: HEALTH_CHECK_RANGES,
      targetTags: [tag],
      allow: [{ protocol: 'tcp', ports: [String(HEALTH_CHECK.port)] }],
    });
  }

  /** The load balancer's internal address (clients connect here on the protocol ports). */
  public get address(): string {
    return this.forwardingRule.ipAddress;
  }
}

/** cloud-init for Container-Optimized OS: the configuration file and a systemd unit running the image. */
function cloudInit(registry: string, image: string, configBase64: string): string {
  const run = [
    '/usr/bin/docker run --rm --name gatehouse --network host',
    '--read-only --tmpfs /tmp --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges',
    '-v /etc/gatehouse/config.yaml:/etc/gatehouse/config.yaml:ro -e GATEHOUSE_CONFIG=/etc/gatehouse/config.yaml',
    image,
  ].join(' ');
  return [
    '#cloud-config',
    'write_files:',
    '  - path: /etc/gatehouse/config.yaml',
    '    permissions: "0644"',
    '    owner: root',
    '    encoding: b64',
    `    content: ${configBase64}`,
    '  - path: /etc/systemd/system/gatehouse.service',
    '    permissions: "0644"',
    '    owner: root',
    '    content: |',
    '      [Unit]',
    '      Description=Gatehouse gateway (TCP protocols)',
    '      Wants=network-online.target',
    '      After=network-online.target',
    '      [Service]',
    '      Environment=HOME=/home/gatehouse',
    `      ExecStartPre=/usr/bin/docker-credential-gcr configure-docker --registries ${registry}`,
    `      ExecStart=${run}`,
    '      ExecStop=/usr/bin/docker stop -t 30 gatehouse',
    '      Restart=always',
    'runcmd:',
    '  - mkdir -p /home/gatehouse',
    '  - systemctl daemon-reload',
    '  - systemctl start gatehouse.service',
    '',
  ].join('\n');
}
