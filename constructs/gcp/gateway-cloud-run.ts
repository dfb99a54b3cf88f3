import { CloudRunV2Service, ServiceAccount } from './providers';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { GatewaySize, ReplicaRange } from '../core/gatehouse-props';
import { renderGatewayConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GATEWAY_PORTS, HEALTH_CHECK, READINESS_CHECK, type GatewayListenerName } from '../core/gateway-ports';

/**
 * Cloud Run sends SIGTERM and, 10 seconds later, SIGKILL to an instance it shuts down
 * (https://cloud.google.com/run/docs/container-contract#instance-shutdown). The gateway's default
 * drain (`shutdownGraceSeconds`, 25 s in gateway/src/config/schema.ts) would be cut by the kill:
 * in-flight operations lost, the final digest never written.
 */
export const CLOUD_RUN_TERMINATION_SECONDS = 10;
/** The drain the kit configures: inside the window, with 3 s left to seal segments and sign the final digest. */
export const GATEWAY_DRAIN_SECONDS = 7;

export interface GatewayCloudRunProps {
  /** Cloud Run region. */
  readonly region: string;
  /** The gateway image in Artifact Registry, e.g. `europe-docker.pkg.dev/p/gatehouse/gateway:0.1.0`. */
  readonly image: string;
  /** VPC (`projects/<p>/global/networks/<n>`) for Direct VPC egress. */
  readonly network: string;
  /** Subnet in `region` whose addresses the instances take. */
  readonly subnetwork: string;
  /**
   * Email of an existing service account for the gateway.
   * @default a new dedicated service account with no roles (grants come from `addAccess` calls)
   */
  readonly serviceAccountEmail?: string;
  /**
   * The gateway configuration without `listeners` (the port plan owns those).
   * @default {}
   */
  readonly config?: GatewayConfigDocument;
  /**
   * Instance bounds. At least one warm instance, so a request never waits for a cold start.
   * @default { min: 1, max: 10 }
   */
  readonly replicas?: ReplicaRange;
  /** @default { cpu: 1, memoryMiB: 2048 } */
  readonly size?: GatewaySize;
  /** Further plain environment variables (never secret values). @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * What must exist before the first revision starts: the grants on its secrets and keys, its
   * database user, the APIs. Cloud Run waits for the revision to be ready, so each missing piece
   * would fail the apply.
   * @default none
   */
  readonly dependsOn?: readonly ITerraformDependable[];
  /**
   * Not served on Cloud Run, which accepts one HTTP port per service: setting any TCP protocol
   * throws, pointing at the documented alternative (docs/gcp.md).
   * @default []
   */
  readonly tcpProtocols?: readonly string[];
}

/**
 * The gateway on Cloud Run (v2): internal ingress only (reachable from the VPC and Private Google
 * Access, never from the internet), Direct VPC egress for all traffic, at least one warm instance,
 * a dedicated service account as its only identity, CPU always allocated (the recorder flushes in
 * the background), a startup probe on `/readyz` and a liveness probe on `/healthz` (admin port), and its configuration
 * in `GATEHOUSE_CONFIG_YAML` (references to secrets, never their values).
 *
 * Cloud Run's own IAM check on invocation is off: callers present their OIDC tokens to the
 * gateway, which verifies them itself; ingress keeps the service off the internet.
 */
export class GatewayCloudRun extends Construct {
  public readonly service: CloudRunV2Service;
  public readonly serviceAccount?: ServiceAccount;
  public readonly serviceAccountEmail: string;
  public readonly replicas: ReplicaRange;
  public readonly configYaml: string;

  constructor(scope: Construct, id: string, props: GatewayCloudRunProps) {
    super(scope, id);
    if (props.tcpProtocols && props.tcpProtocols.length > 0) {
      throw new Error(
        `GatewayCloudRun: Cloud Run serves one HTTP port per service, so ${props.tcpProtocols.join(', ')} cannot be served here; ` +
          'run the same image on GKE or Compute Engine behind an internal passthrough load balancer (docs/gcp.md, "TCP protocols")',
      );
    }
    if (props.config && 'listeners' in props.config) {
      throw new Error('GatewayCloudRun: config.listeners is set by the port plan; remove it from config');
    }
    const grace = props.config?.shutdownGraceSeconds;
    if (typeof grace === 'number' && grace > GATEWAY_DRAIN_SECONDS) {
      throw new Error(
        `GatewayCloudRun: config.shutdownGraceSeconds ${grace} exceeds Cloud Run's termination window; ` +
          `Cloud Run kills an instance ${CLOUD_RUN_TERMINATION_SECONDS} s after SIGTERM, so the drain may last at most ${GATEWAY_DRAIN_SECONDS} s`,
      );
    }
    this.replicas = props.replicas ?? { min: 1, max: 10 };
    const { min, max } = this.replicas;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
      throw new Error(`GatewayCloudRun: replicas needs integers with 1 <= min <= max (one instance stays warm), got min ${min}, max ${max}`);
    }
    const size = props.size ?? { cpu: 1, memoryMiB: 2048 };
    // Cloud Run CPU limits are 1, 2, 4, 6 or 8 vCPU (fractions below 1 forbid always-allocated CPU).
    if (![1, 2, 4, 6, 8].includes(size.cpu) || !Number.isInteger(size.memoryMiB) || size.memoryMiB < 512 || size.memoryMiB > 32768) {
      throw new Error(`GatewayCloudRun: size needs cpu of 1, 2, 4, 6 or 8 vCPU and memoryMiB a whole number from 512 to 32768, got ${JSON.stringify(size)}`);
    }

    if (props.serviceAccountEmail) {
      this.serviceAccountEmail = props.serviceAccountEmail;
    } else {
      this.serviceAccount = new ServiceAccount(this, 'ServiceAccount', {
        accountId: 'gatehouse-gateway',
        displayName: 'Gatehouse gateway',
        description: 'The Gatehouse gateway runs as this account and nothing else does',
      });
      this.serviceAccountEmail = this.serviceAccount.email;
    }

    // Cloud Run exposes one port: HTTP. The admin listener stays inside the instance (probes).
    const listenerNames: GatewayListenerName[] = ['http', 'admin'];
    this.configYaml = renderGatewayConfig({
      // Drain within Cloud Run's window unless the caller chose a shorter drain.
      shutdownGraceSeconds: GATEWAY_DRAIN_SECONDS,
      ...(props.config ?? {}),
      listeners: listenerConfig(listenerNames),
    });

    this.service = new CloudRunV2Service(this, 'Service', {
      name: 'gatehouse',
      location: props.region,
      ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
      invokerIamDisabled: true,
      deletionProtection: true,
      launchStage: 'GA',
      scaling: { minInstanceCount: min },
      template: {
        serviceAccount: this.serviceAccountEmail,
        executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2',
        scaling: { minInstanceCount: min, maxInstanceCount: max },
        vpcAccess: {
          egress: 'ALL_TRAFFIC',
          networkInterfaces: [{ network: props.network, subnetwork: props.subnetwork }],
        },
        timeout: '3600s',
        containers: [{
          name: 'gateway',
          image: props.image,
          ports: { name: 'http1', containerPort: GATEWAY_PORTS.http.containerPort },
          resources: { limits: { cpu: String(size.cpu), memory: `${size.memoryMiB}Mi` }, cpuIdle: false, startupCpuBoost: true },
          env: [
            { name: 'GATEHOUSE_CONFIG_YAML', value: this.configYaml },
            ...Object.entries(props.environment ?? {}).map(([name, value]) => ({ name, value })),
          ],
          // Started = ready (/readyz): Cloud Run routes to an instance once its startup probe passes,
          // so one whose state database is not prepared never gets traffic, and a revision of them
          // fails (and the apply with it) as it did when such a gateway exited at start.
          startupProbe: {
            httpGet: { path: READINESS_CHECK.path, port: READINESS_CHECK.port },
            periodSeconds: 2,
            failureThreshold: 30,
            timeoutSeconds: 1,
          },
          livenessProbe: {
            httpGet: { path: HEALTH_CHECK.path, port: HEALTH_CHECK.port },
            periodSeconds: 10,
            failureThreshold: 3,
            timeoutSeconds: 5,
          },
        }],
      },
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });
  }

  /** IAM member of the gateway's service account. */
  public get member(): string {
    return `serviceAccount:${this.serviceAccountEmail}`;
  }

  /** The service's URL (resolves to internal ingress from the VPC). */
  public get uri(): string {
    return this.service.uri;
  }
}

function listenerConfig(names: readonly GatewayListenerName[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    // TLS ends at Google's front end; the hop into the instance is Google's encrypted transport.
    out[name] = { address: '0.0.0.0', port: GATEWAY_PORTS[name].containerPort, allowPlaintext: true };
  }
  return out;
}
