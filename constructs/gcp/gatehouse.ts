import { DataGoogleArtifactRegistryDockerImage, type KmsCryptoKey, SecretManagerSecretVersion, ServiceAccount } from './providers';
import { Annotations, TerraformDataSource, TerraformResource, Token, dependable, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import {
  existingDatabaseTls,
  validateBaseProps,
  type GatehouseBaseProps,
  type GatehouseConnectionBase,
  type GatehouseIssuerBase,
  type GatehouseDatabaseBase,
  type GatehouseNetworkBase,
  type ExistingDatabaseBase,
  type ReplicaRange,
} from '../core/gatehouse-props';
import { connectionConfig, issuerConfig, needsSecret, tuningConfig, validateUniqueNames, type GatewayConfigDocument } from '../core/gateway-config';
import { DataAccessAuditLogs } from './data-access-audit-logs';
import { GatehouseKeys, kmsLocationFor } from './gatehouse-keys';
import { GatewayAlarms } from './gateway-alarms';
import { GATEWAY_DRAIN_SECONDS, GatewayCloudRun } from './gateway-cloud-run';
import { GatewayNetwork } from './gateway-network';
import { GatewayTcpInstances } from './gateway-tcp-instances';
import { parseArtifactRegistryImage } from './image-repository';
import { ProjectServices } from './project-services';
import { RecordBucket } from './record-bucket';
import { ServiceAgentKey } from './service-agent';
import { STATE_SCHEMA, StateBootstrapJob } from './state-bootstrap-job';
import { StateDatabase } from './state-database';
import { UpstreamCredentials } from './upstream-credentials';
import { WorkloadIdentityFederation } from './workload-identity-federation';

/** A trusted caller issuer; `federation.subjects` become a Workload Identity Pool admitting exactly those subjects. */
export type GatehouseIssuer = GatehouseIssuerBase;

/** An upstream connection; `secret` is an existing Secret Manager secret (`projects/<p>/secrets/<id>`). */
export type GatehouseConnection = GatehouseConnectionBase<string>;

/** An existing VPC with private services access and a subnet in the region. */
export interface ExistingGatewayNetwork {
  readonly networkId: string;
  readonly subnetworkId: string;
}

/** The VPC the kit creates (`GatewayNetwork`). */
export interface GatehouseNetwork extends GatehouseNetworkBase {
  /** The gateway subnet's primary range (/16 to /26). @default '10.50.0.0/20' */
  readonly cidr?: string;
  /** Prefix length of the range reserved for private services access (Cloud SQL). @default 20 */
  readonly privateServicesPrefixLength?: number;
  /** Outbound internet through Cloud NAT. @default true */
  readonly cloudNat?: boolean;
}

/** The Cloud SQL instance the kit creates (`StateDatabase`). */
export interface GatehouseDatabase extends GatehouseDatabaseBase {
  /** Machine tier. @default StateDatabase's default tier */
  readonly tier?: string;
}

/** An existing database: its URL is in the Secret Manager secret `secret` (`projects/<p>/secrets/<id>`). */
export type ExistingDatabase = ExistingDatabaseBase<string>;

export interface GatehouseProps extends GatehouseBaseProps<GatehouseIssuer, GatehouseConnection> {
  /** Project id (APIs, audit configuration, IAM conditions). */
  readonly project: string;
  readonly region: string;
  /**
   * The gateway image (the same image as on AWS and Azure), an image reference. An Artifact Registry reference
   * (`<location>-docker.pkg.dev/<project>/<repo>/<image>:<tag>`) is looked up at plan time, so a
   * missing image stops the plan with a clear error, and Cloud Run gets its digest.
   */
  readonly image: string;
  /** Record bucket name (globally unique). */
  readonly recordBucketName: string;
  /** @default `region` */
  readonly recordLocation?: string;
  /**
   * An existing VPC with private services access and a subnet in the region. Conflicts with `network`.
   * @default a new GatewayNetwork
   */
  readonly existingNetwork?: ExistingGatewayNetwork;
  /**
   * The VPC the kit creates. Conflicts with `existingNetwork`.
   * @default a new GatewayNetwork with subnet '10.50.0.0/20'
   */
  readonly network?: GatehouseNetwork;
  /**
   * Use an existing PostgreSQL database; its URL is in the Secret Manager secret `secret`
   * (`projects/<p>/secrets/<id>`).
   * @default a new StateDatabase with IAM database authentication (no password anywhere)
   */
  readonly existingDatabase?: ExistingDatabase;
  /**
   * The database the kit creates. Conflicts with `existingDatabase`.
   * @default StateDatabase's defaults
   */
  readonly database?: GatehouseDatabase;
  /**
   * Encrypt the created secrets and the state database with the kit's Cloud KMS key (HSM,
   * 90-day rotation), as the record bucket always is. Their service agents are created and granted
   * the key first (`ServiceAgentKey`, google-beta provider). The database's key is set at creation
   * only: turning this on or off later would replace the instance, which `prevent_destroy` refuses.
   * @default true
   */
  readonly customerManagedKeys?: boolean;
  /** @default GatewayTcpInstances defaults */
  readonly tcpInstances?: ReplicaRange;
  /**
   * Turn on the Google APIs the kit uses (`ProjectServices`); every resource waits for them.
   * @default true
   */
  readonly enableApis?: boolean;
  /**
   * Create the Cloud Run service (and TCP instances). Not needed for the first deploy: one apply
   * creates everything, runs the state bootstrap job and only then the service. `false` leaves the
   * gateway out (e.g. to prepare a project before an image exists elsewhere).
   * @default true
   */
  readonly serveGateway?: boolean;
}

/** The state database's server CA is handed to the gateway in this secret (a public certificate, kept with the other references). */
export const STATE_CA_SECRET_ID = 'gatehouse-state-ca';
const STATE_CA_ENV = 'GATEHOUSE_STATE_CA';

/**
 * Everything a production Gatehouse needs in one Google Cloud project, wired with least privilege
 * and ordered so one `cdktf deploy` creates it: APIs first, every grant before the service that
 * needs it, the signing key generated in Cloud KMS, the database login by IAM (nothing to fill in
 * before the gateway can start; upstream credentials without a value yet make only their
 * connection fail, closed).
 */
export class Gatehouse extends Construct {
  public readonly apis?: ProjectServices;
  /** The created network (none with `existingNetwork`). */
  public readonly network?: GatewayNetwork;
  /** The kit's Cloud KMS keys: the signing key and the customer-managed encryption keys. */
  public readonly keys: GatehouseKeys;
  /** The record-signing key (`keys.signingKey`). */
  public readonly signingKey: KmsCryptoKey;
  /** The key the record bucket is encrypted with (`keys.dataKey`). */
  public readonly recordsKey: KmsCryptoKey;
  /** The key the created state database is encrypted with (`keys.regionalKey`, with `customerManagedKeys`). */
  public readonly stateKey?: KmsCryptoKey;
  public readonly records: RecordBucket;
  public readonly credentials: UpstreamCredentials;
  public readonly auditLogs: DataAccessAuditLogs;
  public readonly database?: StateDatabase;
  /** Creates the gateway's database role (with a created database). */
  public readonly stateBootstrap?: StateBootstrapJob;
  /** The gateway's cloud identity: its service account. */
  public readonly gatewayIdentity: ServiceAccount;
  public readonly gateway?: GatewayCloudRun;
  public readonly tcp?: GatewayTcpInstances;
  public readonly alarms: GatewayAlarms;
  public readonly federations: ReadonlyMap<string, WorkloadIdentityFederation>;
  /** The Secret Manager and Cloud SQL service agents and their grants on `keys.regionalKey` (with `customerManagedKeys`). */
  public readonly secretsAgent?: ServiceAgentKey;
  public readonly databaseAgent?: ServiceAgentKey;
  /** The gateway configuration document (references only, never secret values). */
  public readonly config: GatewayConfigDocument;

  constructor(scope: Construct, id: string, props: GatehouseProps) {
    super(scope, id);
    validateBaseProps(props, Token.isUnresolved);
    // Required by google_project_iam_audit_config and the IAM conditions; a missing one would only
    // fail at plan ("The argument \"project\" is required").
    if (typeof props.project !== 'string' || (!Token.isUnresolved(props.project) && !/^[a-z][a-z0-9-]*$/.test(props.project))) {
      throw new Error(`Gatehouse: project must be a Google Cloud project id (lowercase letters, digits and "-"), got "${String(props.project)}"`);
    }
    const existingDatabaseSecret = props.existingDatabase?.secret;
    if (props.existingDatabase && props.database) {
      throw new Error('Gatehouse: database applies to a created database; it conflicts with existingDatabase (give one or the other)');
    }
    if (props.existingNetwork && props.network) {
      throw new Error('Gatehouse: network applies to a created VPC; it conflicts with existingNetwork (give one or the other)');
    }
    if (props.logRetentionDays !== undefined) {
      throw new Error('Gatehouse: logRetentionDays is not supported on Google Cloud yet: Cloud Run logs go to the project\'s _Default log bucket, whose retention is the project\'s to set (docs/gcp.md)');
    }
    const sshConnections = (props.connections ?? []).filter((c) => (c.spec as { kind?: unknown }).kind === 'ssh').map((c) => c.name);
    if (sshConnections.length > 0 && !(props.tcpProtocols ?? []).includes('ssh')) {
      // The gateway refuses an ssh connection without its listener (gateway/src/config/load.ts): it would serve nothing.
      throw new Error(`Gatehouse: ssh connection${sshConnections.length > 1 ? 's' : ''} ${sshConnections.join(', ')} need${sshConnections.length > 1 ? '' : 's'} tcpProtocols to include "ssh" (and sshHostKey)`);
    }
    validateUniqueNames('issuer', (props.issuers ?? []).map((i) => i.name));
    validateUniqueNames('connection', (props.connections ?? []).map((c) => c.name));
    const { project, region } = props;

    if (props.enableApis !== false) this.apis = new ProjectServices(this, 'Apis', { project });

    let net: ExistingGatewayNetwork;
    if (props.existingNetwork) {
      net = props.existingNetwork;
    } else {
      const { cidr, ...options } = props.network ?? {};
      this.network = new GatewayNetwork(this, 'Network', { region, subnetCidr: cidr, ...options });
      net = { networkId: this.network.network.id, subnetworkId: this.network.subnet.id };
    }

    this.gatewayIdentity = new ServiceAccount(this, 'GatewayServiceAccount', {
      accountId: 'gatehouse-gateway',
      displayName: 'Gatehouse gateway',
      description: 'The Gatehouse gateway runs as this account and nothing else does',
    });
    const gatewayMember = `serviceAccount:${this.gatewayIdentity.email}`;
    const ready: ITerraformDependable[] = [];

    this.keys = new GatehouseKeys(this, 'Keys', { project, region, location: Token.isUnresolved(props.recordLocation) ? props.recordLocation! : kmsLocationFor(props.recordLocation ?? region) });
    const cmek = props.customerManagedKeys !== false;
    this.signingKey = this.keys.signingKey;
    this.recordsKey = this.keys.dataKey;
    ready.push(...this.keys.addSigner(gatewayMember));

    this.records = new RecordBucket(this, 'Records', {
      location: props.recordLocation ?? region,
      bucketName: props.recordBucketName,
      retentionDays: props.recordRetentionDays,
      kmsKeyName: this.keys.dataKey.id,
      dependsOn: [this.keys.storageAgentGrant],
    });
    ready.push(...this.records.addAccess(gatewayMember, 'append'));
    this.auditLogs = new DataAccessAuditLogs(this, 'AuditLogs', { project });

    const connections = props.connections ?? [];
    const stateCa = !existingDatabaseSecret;
    if (cmek) this.secretsAgent = new ServiceAgentKey(this, 'SecretManagerAgent', { project, service: 'secretmanager.googleapis.com', cryptoKeyId: this.keys.regionalKey.id });
    this.credentials = new UpstreamCredentials(this, 'Credentials', {
      region,
      connections: connections.filter((c) => !c.secret && needsSecret(c)).map((c) => c.name),
      existing: {
        ...Object.fromEntries(connections.filter((c) => c.secret).map((c) => [c.name, c.secret!])),
        ...(existingDatabaseSecret ? { 'gatehouse-state-url': existingDatabaseSecret } : {}),
      },
      extraSecrets: stateCa ? [STATE_CA_SECRET_ID] : [],
      kmsKeyName: this.secretsAgent ? this.keys.regionalKey.id : undefined,
      dependsOn: this.secretsAgent ? [this.secretsAgent.grant] : undefined,
    });
    this.credentials.addAccess(gatewayMember);
    ready.push(...this.credentials.grants);

    // By digest: the service, the TCP instances and the bootstrap job run the same image.
    const image = this.resolveImage(props.image);
    let state: GatewayConfigDocument;
    if (existingDatabaseSecret) {
      state = { url: this.credentials.referenceFor('gatehouse-state-url'), ...existingDatabaseTls(props.existingDatabase) };
    } else {
      if (cmek) this.databaseAgent = new ServiceAgentKey(this, 'CloudSqlAgent', { project, service: 'sqladmin.googleapis.com', cryptoKeyId: this.keys.regionalKey.id });
      const database = new StateDatabase(this, 'State', {
        project,
        region,
        networkId: net.networkId,
        privateServicesConnection: this.network?.privateServicesConnection,
        tier: props.database?.tier,
        backupRetentionDays: props.database?.backupRetentionDays,
        kmsKeyName: this.databaseAgent ? this.keys.regionalKey.id : undefined,
        dependsOn: this.databaseAgent ? [this.databaseAgent.grant] : undefined,
      });
      this.database = database;
      if (this.databaseAgent) this.stateKey = this.keys.regionalKey;
      const gatewayUser = database.addIamServiceAccountUser('Gateway', this.gatewayIdentity.email);
      ready.push(gatewayUser.user, gatewayUser.login);
      // The CA is a public certificate; a secret version carries it intact (a PEM inside the YAML
      // document would be folded) to every place the gateway runs, and it exists before the service.
      ready.push(new SecretManagerSecretVersion(this, 'StateCaVersion', { secret: this.credentials.secrets.get(STATE_CA_SECRET_ID)!.id, secretData: database.serverCaCertPem }));
      state = {
        url: database.iamUrl(gatewayUser.roleName),
        iamAuth: 'gcp-cloudsql',
        caCert: this.credentials.referenceFor(STATE_CA_SECRET_ID),
        serverName: database.serverName,
        schema: STATE_SCHEMA,
      };
      this.stateBootstrap = new StateBootstrapJob(this, 'StateBootstrap', {
        region,
        image,
        database,
        appUser: gatewayUser,
        network: net.networkId,
        subnetwork: net.subnetworkId,
        caEnvironmentVariable: STATE_CA_ENV,
      });
      // The job's creation waits for its execution (run_execution_token): after it, the
      // gateway's role has its schema and rights.
      ready.push(this.stateBootstrap.job);
    }

    this.config = {
      mode: 'production',
      identity: { issuers: (props.issuers ?? []).map((i) => issuerConfig(i, Token.isUnresolved)) },
      connections: connections.map((c) => connectionConfig(c, () => this.credentials.referenceFor(c.name), 'give an existing secret as `secret`')),
      recording: {
        mode: props.recordingMode ?? 'strict',
        sink: { type: 'gcs', bucket: this.records.bucket.name, prefix: this.records.prefix },
        signingKey: this.keys.signingKeyReference,
      },
      state,
      ...(props.adminGroups ? { admin: { groups: [...props.adminGroups] } } : {}),
      ...tuningConfig(props.busyPollMicroseconds),
    };

    const replicas = props.replicas ?? { min: 1, max: 10 };
    if (props.serveGateway !== false) {
      this.gateway = new GatewayCloudRun(this, 'Gateway', {
        region,
        image,
        network: net.networkId,
        subnetwork: net.subnetworkId,
        serviceAccountEmail: this.gatewayIdentity.email,
        // Cloud Run serves HTTP only: ssh connections are the TCP instances' (with a listener there).
        config: { ...this.config, connections: (this.config.connections as GatewayConfigDocument[]).filter((c) => c.kind !== 'ssh') },
        replicas,
        size: props.size,
        dependsOn: ready,
      });
      if (props.clientCidrs) {
        // Cloud Run takes requests at Google's front end, not on an interface in the VPC: no firewall
        // rule reaches it, and no ingress setting narrows by address (INGRESS_TRAFFIC_INTERNAL_ONLY
        // admits the project's VPC networks, Shared VPC, VPC-SC perimeter resources and internal
        // Application Load Balancers: https://cloud.google.com/run/docs/securing/ingress).
        Annotations.of(this).addWarning(
          'Gatehouse: clientCidrs narrows the TCP load balancer only; Cloud Run\'s internal ingress admits every internal source of the project\'s VPC networks, ' +
            'so on HTTP every caller in them reaches the listener and is refused unless it presents a valid token (docs/gcp.md, "Who can reach the gateway")',
        );
      }
      const tcpProtocols = props.tcpProtocols ?? [];
      if (tcpProtocols.length > 0) {
        const clientCidrs = props.clientCidrs ?? (this.network ? [this.network.subnetCidr] : undefined);
        if (!clientCidrs) throw new Error('Gatehouse: tcpProtocols with an existing network need clientCidrs (who may connect)');
        this.tcp = new GatewayTcpInstances(this, 'Tcp', {
          region,
          image,
          network: net.networkId,
          subnetwork: net.subnetworkId,
          serviceAccountEmail: this.gatewayIdentity.email,
          tcpProtocols,
          sshHostKey: props.sshHostKey,
          tcpTls: props.tcpTls,
          clientCidrs,
          config: { ...this.config, shutdownGraceSeconds: GATEWAY_DRAIN_SECONDS },
          instances: props.tcpInstances,
          dependsOn: ready,
        });
      }
    }
    this.alarms = new GatewayAlarms(this, 'Alarms', { project, serviceName: 'gatehouse', minReplicas: replicas.min, alarmEmail: props.alarmEmail });

    const federations = new Map<string, WorkloadIdentityFederation>();
    for (const issuer of props.issuers ?? []) {
      if (!issuer.federation) continue;
      const federation = new WorkloadIdentityFederation(this, `Federation-${issuer.name}`, {
        poolId: `gatehouse-${issuer.name}`.slice(0, 32),
        providerId: `${issuer.name}-oidc`.slice(0, 32).padEnd(4, '0'),
        issuerUrl: issuer.issuer,
        subjects: issuer.federation.subjects,
        audiences: issuer.federation.audiences ?? issuer.audiences,
      });
      for (const principal of federation.principals) {
        this.records.addAccess(principal, 'read');
        this.keys.addVerifier(principal);
      }
      federations.set(issuer.name, federation);
    }
    this.federations = federations;

    if (this.apis) this.waitForApis(this.apis);
  }

  /** An Artifact Registry image is read at plan time: a missing one stops the plan, and Cloud Run gets the digest. */
  private resolveImage(image: string): string {
    const ar = Token.isUnresolved(image) ? undefined : parseArtifactRegistryImage(image);
    if (!ar) return image;
    return new DataGoogleArtifactRegistryDockerImage(this, 'Image', {
      project: ar.project,
      location: ar.location,
      repositoryId: ar.repositoryId,
      imageName: ar.imageName,
    }).selfLink;
  }

  /** Every resource of the kit waits for the APIs (Terraform would otherwise start them all at once). */
  private waitForApis(apis: ProjectServices): void {
    const after = apis.services.map((s) => dependable(s));
    for (const node of this.node.findAll()) {
      if (node === apis || node.node.scopes.includes(apis)) continue;
      if (node instanceof TerraformResource) node.dependsOn = [...(node.dependsOn ?? []), ...after];
      // The image lookup stays at plan time (a data source with depends_on is read only at apply).
      else if (node instanceof TerraformDataSource && !(node instanceof DataGoogleArtifactRegistryDockerImage)) node.dependsOn = [...(node.dependsOn ?? []), ...after];
    }
  }
}
