import { ContainerApp, ContainerAppEnvironment, type ContainerAppTemplateContainerLivenessProbe, MonitorDiagnosticSetting, PrivateDnsARecord, PrivateDnsZone, PrivateDnsZoneVirtualNetworkLink } from './providers';
import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { renderGatewayConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GATEWAY_PORTS, HEALTH_CHECK, READINESS_CHECK, type GatewayListenerName, type GatewayTcpProtocol, tcpListenerConfig, type TcpListenerSecrets } from '../core/gateway-ports';
import type { GatewaySize, ReplicaRange } from '../core/gatehouse-props';
import type { ResourceGroupRef } from './resource-group-ref';

/** The identity the gateway runs as (a WorkloadIdentity, or an existing user-assigned identity). */
export interface GatewayIdentityRef {
  /** Resource id of the user-assigned identity. */
  readonly id: string;
  /** Its client id (given to the gateway as `AZURE_CLIENT_ID`). */
  readonly clientId: string;
}

export interface GatewayContainerAppsProps {
  readonly resourceGroup: ResourceGroupRef;
  /** The gateway image, e.g. `myregistry.azurecr.io/gatehouse:0.1.0` (see docs/azure.md). */
  readonly image: string;
  /** The gateway's user-assigned identity: its only credential in Azure (also pulls the image). */
  readonly identity: GatewayIdentityRef;
  /**
   * Registry login server pulled from with `identity` (give the identity AcrPull on it).
   * @default none: the image is public or the environment can already pull it
   */
  readonly registryServer?: string;
  /**
   * An existing Container Apps environment (VNet-integrated, internal load balancer). Mutually
   * exclusive with `infrastructureSubnetId`.
   * @default a new internal, zone-redundant environment in `infrastructureSubnetId`
   */
  readonly environmentId?: string;
  /** Subnet for a new environment (delegated to `Microsoft.App/environments`). */
  readonly infrastructureSubnetId?: string;
  /** Log Analytics workspace for a new environment's console and system logs (diagnostic setting). */
  readonly logAnalyticsWorkspaceId?: string;
  /** VNet linked to the private DNS zone of a new environment's default domain. */
  readonly virtualNetworkId?: string;
  /**
   * Address ranges allowed to reach the gateway (ingress IP restrictions on every listener).
   * @default none: every address that can route to the environment's internal load balancer
   */
  readonly clientCidrs?: readonly string[];
  /**
   * The gateway configuration without `listeners` (the port plan owns those).
   * @default {} (the gateway's own defaults)
   */
  readonly config?: GatewayConfigDocument;
  /**
   * TCP protocols to open beyond HTTP and admin.
   * @default []
   */
  readonly tcpProtocols?: readonly GatewayTcpProtocol[];
  /**
   * Secret references the TCP listeners need (`tcpTls` with postgres or mysql, `sshHostKey` with
   * ssh), e.g. `azure-kv:<vault>/<secret>`. The gateway's identity must be able to read them (the
   * kit grants nothing on references you give).
   * @default none
   */
  readonly tcpTls?: TcpListenerSecrets['tcpTls'];
  readonly sshHostKey?: string;
  /**
   * Replica bounds of each app. At least two (the environment spreads them over zones).
   * @default { min: 2, max: 6 }
   */
  readonly replicas?: ReplicaRange;
  /**
   * vCPU and memory of each replica: a Consumption combination (0.25 to 4 vCPU in steps of
   * 0.25, memory twice the vCPU in GiB).
   * @default { cpu: 1, memoryMiB: 2048 }
   */
  readonly size?: GatewaySize;
  /**
   * What the apps must wait for (e.g. the identity's role assignments on the vault, the record
   * and the signing key): a replica that starts before it can read them only fails closed, but
   * waiting avoids a first revision that is not ready for minutes.
   * @default []
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

const CONTAINER_NAME = 'gateway';

/**
 * The gateway on Azure Container Apps: an internal environment (VNet-integrated, internal load
 * balancer, no public network access, zone-redundant) and one Container App per listener of the
 * port plan. The azurerm provider exposes a single ingress port per app, so every listener gets
 * its own app running the same image and configuration (the gateway keeps its state in
 * PostgreSQL, so replicas of different apps are interchangeable): `gatehouse-http` (HTTPS 443
 * to 8443), `gatehouse-admin` (HTTPS 443 to 9090), and `gatehouse-postgres` / `gatehouse-ssh`
 * (TCP 5432 and 22 to 5432 and 2222).
 *
 * Every app runs as the gateway's user-assigned identity only, with at least two replicas,
 * startup and liveness probes on `/healthz` and readiness on `/readyz` (admin port), and its configuration in
 * `GATEHOUSE_CONFIG_YAML` (references to secrets, never their values).
 */
export class GatewayContainerApps extends Construct {
  public readonly environment?: ContainerAppEnvironment;
  public readonly environmentId: string;
  public readonly dnsZone?: PrivateDnsZone;
  /** A new environment's console and system logs, delivered to Log Analytics. */
  public readonly logs?: MonitorDiagnosticSetting;
  public readonly apps: ReadonlyMap<GatewayListenerName, ContainerApp>;
  public readonly replicas: { readonly min: number; readonly max: number };
  public readonly configYaml: string;

  constructor(scope: Construct, id: string, props: GatewayContainerAppsProps) {
    super(scope, id);
    if (props.environmentId && props.infrastructureSubnetId) {
      throw new Error('GatewayContainerApps: give either environmentId (existing) or infrastructureSubnetId (new environment), not both');
    }
    if (!props.environmentId && (!props.infrastructureSubnetId || !props.logAnalyticsWorkspaceId || !props.virtualNetworkId)) {
      throw new Error('GatewayContainerApps: a new environment needs infrastructureSubnetId, logAnalyticsWorkspaceId and virtualNetworkId');
    }
    if (props.config && 'listeners' in props.config) {
      throw new Error('GatewayContainerApps: config.listeners is set by the port plan; remove it from config');
    }
    this.replicas = props.replicas ?? { min: 2, max: 6 };
    const { min, max } = this.replicas;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 2 || max < min || max > 1000) {
      throw new Error(`GatewayContainerApps: replicas needs integers with 2 <= min <= max <= 1000 (two replicas survive a zone loss), got min ${min}, max ${max}`);
    }
    for (const cidr of props.clientCidrs ?? []) {
      if (!Token.isUnresolved(cidr) && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) {
        throw new Error(`GatewayContainerApps: clientCidrs entries must be IPv4 CIDRs, got "${cidr}"`);
      }
    }
    const size = props.size ?? { cpu: 1, memoryMiB: 2048 };
    if (!Token.isUnresolved(size.cpu) && !Token.isUnresolved(size.memoryMiB)
      && (size.cpu < 0.25 || size.cpu > 4 || (size.cpu * 4) % 1 !== 0 || size.memoryMiB !== size.cpu * 2048)) {
      throw new Error(`GatewayContainerApps: size must be a Consumption combination (cpu 0.25-4 in steps of 0.25, memoryMiB = cpu * 2048), got ${JSON.stringify(size)}`);
    }
    const rg = props.resourceGroup;
    const listenerNames: GatewayListenerName[] = ['http', 'admin', ...new Set(props.tcpProtocols ?? [])];

    if (props.environmentId) {
      this.environmentId = props.environmentId;
    } else {
      this.environment = new ContainerAppEnvironment(this, 'Environment', {
        name: 'gatehouse-env',
        resourceGroupName: rg.name,
        location: rg.location,
        infrastructureSubnetId: props.infrastructureSubnetId,
        internalLoadBalancerEnabled: true,
        publicNetworkAccess: 'Disabled',
        zoneRedundancyEnabled: true,
        // Through Azure Monitor (a diagnostic setting, Entra-authorized), not "log-analytics": that
        // destination ships logs with the workspace's shared key (container_app_environment_resource.go,
        // Create: getSharedKeyForWorkspace), which a workspace with local authentication disabled
        // (as the kit's is) refuses ("Disable local authentication", Azure Monitor Logs:
        // learn.microsoft.com/azure/azure-monitor/logs/azure-ad-authentication-logs), so no log
        // would ever arrive. azurerm also refuses log_analytics_workspace_id with this destination.
        logsDestination: 'azure-monitor',
        workloadProfile: [{ name: 'Consumption', workloadProfileType: 'Consumption' }],
        mutualTlsEnabled: true,
      });
      this.environmentId = this.environment.id;
      this.logs = new MonitorDiagnosticSetting(this, 'Logs', {
        name: 'gatehouse-environment-logs',
        targetResourceId: this.environment.id,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId!,
        // Resource-specific tables (ContainerAppConsoleLogs, ContainerAppSystemLogs), which the alerts query.
        logAnalyticsDestinationType: 'Dedicated',
        enabledLog: [{ category: 'ContainerAppConsoleLogs' }, { category: 'ContainerAppSystemLogs' }],
      });
      // The environment's default domain resolves only inside the VNet, to its internal load balancer.
      this.dnsZone = new PrivateDnsZone(this, 'Zone', { name: this.environment.defaultDomain, resourceGroupName: rg.name });
      new PrivateDnsZoneVirtualNetworkLink(this, 'ZoneLink', {
        name: 'apps-link',
        resourceGroupName: rg.name,
        privateDnsZoneName: this.dnsZone.name,
        virtualNetworkId: props.virtualNetworkId!,
        registrationEnabled: false,
      });
      new PrivateDnsARecord(this, 'Wildcard', {
        name: '*',
        zoneName: this.dnsZone.name,
        resourceGroupName: rg.name,
        ttl: 300,
        records: [this.environment.staticIpAddress],
      });
    }

    this.configYaml = renderGatewayConfig({ ...(props.config ?? {}), listeners: listenerConfig(listenerNames, props) });
    // Liveness on /healthz (the process works), readiness on /readyz (it can serve): a replica
    // whose secrets, signing key or database role do not exist yet stays alive and out of
    // rotation (fails closed) instead of restarting, and turns ready once they exist.
    const probe = (extra: Readonly<Record<string, string | number>>): ContainerAppTemplateContainerLivenessProbe => ({
      transport: 'HTTP',
      port: HEALTH_CHECK.port,
      path: HEALTH_CHECK.path,
      intervalSeconds: 10,
      timeout: 5,
      failureCountThreshold: 3,
      ...extra,
    });

    const apps = new Map<GatewayListenerName, ContainerApp>();
    for (const name of listenerNames) {
      const port = GATEWAY_PORTS[name];
      const tcp = port.termination === 'tcp';
      apps.set(name, new ContainerApp(this, `App-${name}`, {
        name: `gatehouse-${name}`,
        resourceGroupName: rg.name,
        containerAppEnvironmentId: this.environmentId,
        revisionMode: 'Single',
        workloadProfileName: 'Consumption',
        identity: { type: 'UserAssigned', identityIds: [props.identity.id] },
        registry: props.registryServer ? [{ server: props.registryServer, identity: props.identity.id }] : undefined,
        ingress: {
          // In an internal environment, "external" means reachable from the VNet through the
          // environment's internal load balancer; it never means the internet.
          externalEnabled: true,
          allowInsecureConnections: false,
          transport: tcp ? 'tcp' : 'auto',
          targetPort: port.containerPort,
          exposedPort: tcp ? port.listenerPort : undefined,
          trafficWeight: [{ latestRevision: true, percentage: 100 }],
          ipSecurityRestriction: (props.clientCidrs ?? []).map((cidr, i) => ({
            name: `client-${i}`,
            action: 'Allow',
            ipAddressRange: cidr,
            description: 'Gatehouse client range',
          })),
        },
        template: {
          minReplicas: min,
          maxReplicas: max,
          // The gateway drains for shutdownGraceSeconds (default 25 s) after SIGTERM.
          terminationGracePeriodSeconds: 30,
          container: [{
            name: CONTAINER_NAME,
            image: props.image,
            cpu: size.cpu,
            memory: `${size.memoryMiB / 1024}Gi`,
            env: [
              { name: 'GATEHOUSE_CONFIG_YAML', value: this.configYaml },
              { name: 'AZURE_CLIENT_ID', value: props.identity.clientId },
            ],
            startupProbe: [probe({ failureCountThreshold: 30, intervalSeconds: 2 })],
            readinessProbe: [probe({ path: READINESS_CHECK.path, successCountThreshold: 1 })],
            livenessProbe: [probe({})],
          }],
        },
        dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
      }));
    }
    this.apps = apps;
  }

  /** Host name of one listener's app inside the VNet. */
  public fqdnOf(listener: GatewayListenerName): string {
    const app = this.apps.get(listener);
    if (!app) throw new Error(`GatewayContainerApps: listener "${listener}" is not open; open it with tcpProtocols`);
    return app.ingress.fqdn;
  }
}

function listenerConfig(names: readonly GatewayListenerName[], secrets: TcpListenerSecrets): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    // TLS ends at the environment's ingress for HTTP listeners; TCP listeners carry their own.
    out[name] = name === 'http' || name === 'admin'
      ? { address: '0.0.0.0', port: GATEWAY_PORTS[name].containerPort, allowPlaintext: true }
      // TCP ingress listens on the environment's exposedPort (SSH: 22) and forwards to the
      // container's (2222). An external exposedPort is unique in the environment and served on its
      // one inbound IP ("Configure Ingress", learn.microsoft.com/azure/container-apps/ingress-how-to,
      // `exposedPort`), which every app name resolves to: the gateway URL's host reaches port 22
      // too, so only the port is advertised.
      : tcpListenerConfig(name, secrets, 'GatewayContainerApps', { translatesPorts: true });
  }
  return out;
}
