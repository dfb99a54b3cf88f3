import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { connectionConfig, issuerConfig, needsSecret, validateUniqueNames, tuningConfig, type GatewayConfigDocument } from '../core/gateway-config';
import { GatewayCloudRun } from './gateway-cloud-run';
import type { GatewayTcpProtocol } from '../core/gateway-ports';
import { GatewayNetwork } from './gateway-network';
import { GatewayTcpInstances } from './gateway-tcp-instances';
import { RecordBucket } from './record-bucket';
import { StateDatabase } from './state-database';
import { UpstreamCredentials } from './upstream-credentials';
import { WorkloadIdentityFederation } from './workload-identity-federation';

/** A trusted caller issuer, as in the gateway's `identity.issuers` (plus `gcpFederation`). */
export interface GatehouseIssuer {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Any other field of the gateway's issuer configuration (`kind`, `subjectRules`, ...). */
  readonly options?: GatewayConfigDocument;
  /**
   * Also create a Workload Identity Pool and OIDC provider for this issuer, whose principals may
   * read the record (e.g. to run `gatehouse verify`).
   * @default no federation
   */
  readonly gcpFederation?: { readonly attributeCondition: string; readonly audiences?: readonly string[] };
}

/** An upstream connection; its credential lives in Secret Manager. */
export interface GatehouseConnection {
  readonly name: string;
  /** The connection without `name` and without `credential.secret`. */
  readonly spec: GatewayConfigDocument;
  /**
   * An existing secret (`projects/<p>/secrets/<id>`).
   * @default a new secret `gatehouse-<name>`
   */
  readonly secretId?: string;
}

/** An existing VPC with private services access and a subnet in the region. */
export interface ExistingGatewayNetwork {
  readonly networkId: string;
  readonly subnetworkId: string;
}

export interface GatehouseProps {
  readonly region: string;
  /** The gateway image in Artifact Registry (the same image as on AWS and Azure). */
  readonly image: string;
  /** Record bucket name (globally unique). */
  readonly recordBucketName: string;
  /**
   * Record bucket location.
   * @default `region`
   */
  readonly recordLocation?: string;
  /** @default a new GatewayNetwork */
  readonly network?: ExistingGatewayNetwork;
  /** @default [] */
  readonly issuers?: readonly GatehouseIssuer[];
  /** @default [] */
  readonly connections?: readonly GatehouseConnection[];
  /** @default 365 */
  readonly recordRetentionDays?: number;
  /**
   * Use an existing PostgreSQL database; its URL is in this Secret Manager secret
   * (`projects/<p>/secrets/<id>`).
   * @default a new StateDatabase and a secret `gatehouse-state-url` for its URL
   */
  readonly existingDatabaseUrlSecret?: string;
  /** @default StateDatabase defaults */
  readonly databaseTier?: string;
  /** @default { min: 1, max: 10 } */
  readonly instances?: { readonly min: number; readonly max: number };
  /** @default { cpu: '1', memory: '2Gi' } */
  readonly size?: { readonly cpu: string; readonly memory: string };
  /**
   * TCP protocols (which Cloud Run cannot serve) to open on a GatewayTcpInstances group behind an
   * internal passthrough load balancer.
   * @default [] (no instance group)
   */
  readonly tcpProtocols?: readonly GatewayTcpProtocol[];
  /**
   * Who may reach the TCP load balancer.
   * @default the created subnet's range (required with an existing network)
   */
  readonly clientCidrs?: readonly string[];
  /** @default GatewayTcpInstances defaults */
  readonly tcpInstances?: { readonly min: number; readonly max: number };
  /** @default 'strict' */
  readonly recordingMode?: 'strict' | 'buffered';
  /**
   * Busy polling (gateway config `tuning.busyPollMicroseconds`, docs/configuration.md): keep
   * polling this long after each request instead of sleeping, trading CPU for latency. It pays
   * where the service keeps its CPU between requests.
   * @default off
   */
  readonly busyPollMicroseconds?: number;
  /** @default the gateway's default (`gatehouse-admins`) */
  readonly adminGroups?: readonly string[];
}

/** Secret Manager secret ids the kit creates and the operator fills after the first deploy. */
export const GCP_SECRET_IDS = { signingKey: 'gatehouse-signing-key', stateUrl: 'gatehouse-state-url' } as const;

/**
 * Everything a production Gatehouse needs in one Google Cloud project, wired with least privilege:
 * the gateway's service account may create and read record objects and read its secrets, and
 * nothing else.
 */
export class Gatehouse extends Construct {
  public readonly network?: GatewayNetwork;
  public readonly records: RecordBucket;
  public readonly credentials: UpstreamCredentials;
  public readonly database?: StateDatabase;
  public readonly gateway: GatewayCloudRun;
  public readonly tcp?: GatewayTcpInstances;
  public readonly federations: ReadonlyMap<string, WorkloadIdentityFederation>;

  constructor(scope: Construct, id: string, props: GatehouseProps) {
    super(scope, id);
    if (props.existingDatabaseUrlSecret && props.databaseTier) {
      throw new Error('Gatehouse: databaseTier applies to a created database; it conflicts with existingDatabaseUrlSecret');
    }
    validateUniqueNames('issuer', (props.issuers ?? []).map((i) => i.name));
    validateUniqueNames('connection', (props.connections ?? []).map((c) => c.name));

    let net: ExistingGatewayNetwork;
    if (props.network) {
      net = props.network;
    } else {
      this.network = new GatewayNetwork(this, 'Network', { region: props.region });
      net = { networkId: this.network.network.id, subnetworkId: this.network.subnet.id };
    }

    this.records = new RecordBucket(this, 'Records', {
      location: props.recordLocation ?? props.region,
      bucketName: props.recordBucketName,
      retentionDays: props.recordRetentionDays,
    });

    const connections = props.connections ?? [];
    this.credentials = new UpstreamCredentials(this, 'Credentials', {
      connections: connections.filter((c) => !c.secretId && needsSecret(c)).map((c) => c.name),
      existing: {
        ...Object.fromEntries(connections.filter((c) => c.secretId).map((c) => [c.name, c.secretId!])),
        ...(props.existingDatabaseUrlSecret ? { [GCP_SECRET_IDS.stateUrl]: props.existingDatabaseUrlSecret } : {}),
      },
      extraSecrets: props.existingDatabaseUrlSecret ? [GCP_SECRET_IDS.signingKey] : [GCP_SECRET_IDS.signingKey, GCP_SECRET_IDS.stateUrl],
    });

    if (!props.existingDatabaseUrlSecret) {
      this.database = new StateDatabase(this, 'State', {
        region: props.region,
        networkId: net.networkId,
        privateServicesConnection: this.network?.privateServicesConnection,
        tier: props.databaseTier,
      });
    }

    const config: GatewayConfigDocument = {
      mode: 'production',
      identity: { issuers: (props.issuers ?? []).map((i) => issuerConfig(i, Token.isUnresolved)) },
      connections: connections.map((c) => connectionConfig(c, () => this.credentials.referenceFor(c.name), `give an existing secret as \`secretId\``)),
      recording: {
        mode: props.recordingMode ?? 'strict',
        sink: { type: 'gcs', bucket: this.records.bucket.name, prefix: this.records.prefix },
        signingKey: this.credentials.referenceFor(GCP_SECRET_IDS.signingKey),
      },
      state: { url: this.credentials.referenceFor(GCP_SECRET_IDS.stateUrl) },
      ...(props.adminGroups ? { admin: { groups: [...props.adminGroups] } } : {}),
      ...tuningConfig(props.busyPollMicroseconds),
    };

    this.gateway = new GatewayCloudRun(this, 'Gateway', {
      region: props.region,
      image: props.image,
      network: net.networkId,
      subnetwork: net.subnetworkId,
      config,
      instances: props.instances,
      size: props.size,
    });
    const tcpProtocols = props.tcpProtocols ?? [];
    if (tcpProtocols.length > 0) {
      const clientCidrs = props.clientCidrs ?? (this.network ? [this.network.subnetCidr] : undefined);
      if (!clientCidrs) throw new Error('Gatehouse: tcpProtocols with an existing network need clientCidrs (who may connect)');
      this.tcp = new GatewayTcpInstances(this, 'Tcp', {
        region: props.region,
        image: props.image,
        network: net.networkId,
        subnetwork: net.subnetworkId,
        serviceAccountEmail: this.gateway.serviceAccountEmail,
        tcpProtocols,
        clientCidrs,
        config,
        instances: props.tcpInstances,
      });
    }
    this.records.addAccess(this.gateway.member, 'append');
    this.credentials.addAccess(this.gateway.member);

    const federations = new Map<string, WorkloadIdentityFederation>();
    for (const issuer of props.issuers ?? []) {
      if (!issuer.gcpFederation) continue;
      const federation = new WorkloadIdentityFederation(this, `Federation-${issuer.name}`, {
        poolId: `gatehouse-${issuer.name}`.slice(0, 32),
        providerId: `${issuer.name}-oidc`.slice(0, 32).padEnd(4, '0'),
        issuerUrl: issuer.issuer,
        attributeCondition: issuer.gcpFederation.attributeCondition,
        audiences: issuer.gcpFederation.audiences,
      });
      this.records.addAccess(federation.principalSet, 'read');
      federations.set(issuer.name, federation);
    }
    this.federations = federations;
  }

}
