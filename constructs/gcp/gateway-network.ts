import { ComputeGlobalAddress, ComputeNetwork, ComputeRouter, ComputeRouterNat, ComputeSubnetwork, ServiceNetworkingConnection } from './providers';
import { Token } from 'cdktf';
import { Construct } from 'constructs';

export interface GatewayNetworkProps {
  /** Region of the subnet (the Cloud Run region). */
  readonly region: string;
  /**
   * Primary range of the gateway subnet (Direct VPC egress takes its addresses from here).
   * @default '10.50.0.0/20'
   */
  readonly subnetCidr?: string;
  /**
   * Prefix length of the range reserved for private services access (Cloud SQL private IP).
   * @default 20
   */
  readonly privateServicesPrefixLength?: number;
  /**
   * Outbound internet for the gateway subnet through Cloud NAT (Cloud Run's Direct VPC egress
   * sends all traffic into the VPC, so without NAT the gateway cannot reach LLM APIs or other
   * upstreams outside it). NAT errors are logged.
   * @default true
   */
  readonly cloudNat?: boolean;
}

/**
 * The gateway's VPC: custom mode (no auto subnets), one regional subnet with Private Google Access
 * and flow logs, and private services access so Cloud SQL gets a private IP in it.
 */
export class GatewayNetwork extends Construct {
  public readonly network: ComputeNetwork;
  public readonly subnet: ComputeSubnetwork;
  public readonly privateServicesRange: ComputeGlobalAddress;
  public readonly privateServicesConnection: ServiceNetworkingConnection;
  public readonly subnetCidr: string;
  public readonly router?: ComputeRouter;
  public readonly nat?: ComputeRouterNat;

  constructor(scope: Construct, id: string, props: GatewayNetworkProps) {
    super(scope, id);
    this.subnetCidr = props.subnetCidr ?? '10.50.0.0/20';
    if (!Token.isUnresolved(this.subnetCidr) && !/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-6])$/.test(this.subnetCidr)) {
      throw new Error(`GatewayNetwork: subnetCidr must be an IPv4 CIDR between /16 and /26 (Direct VPC egress needs room), got "${this.subnetCidr}"`);
    }
    const prefix = props.privateServicesPrefixLength ?? 20;
    if (!Number.isInteger(prefix) || prefix < 8 || prefix > 24) {
      throw new Error(`GatewayNetwork: privateServicesPrefixLength must be between 8 and 24, got ${prefix}`);
    }
    this.network = new ComputeNetwork(this, 'Network', {
      name: 'gatehouse-vpc',
      autoCreateSubnetworks: false,
      routingMode: 'REGIONAL',
    });
    this.subnet = new ComputeSubnetwork(this, 'Subnet', {
      name: 'gatehouse-gateway',
      network: this.network.id,
      region: props.region,
      ipCidrRange: this.subnetCidr,
      privateIpGoogleAccess: true,
      logConfig: { aggregationInterval: 'INTERVAL_5_SEC', flowSampling: 0.5, metadata: 'INCLUDE_ALL_METADATA' },
    });
    if (props.cloudNat !== false) {
      this.router = new ComputeRouter(this, 'Router', { name: 'gatehouse-router', network: this.network.id, region: props.region });
      this.nat = new ComputeRouterNat(this, 'Nat', {
        name: 'gatehouse-nat',
        router: this.router.name,
        region: props.region,
        natIpAllocateOption: 'AUTO_ONLY',
        sourceSubnetworkIpRangesToNat: 'LIST_OF_SUBNETWORKS',
        subnetwork: [{ name: this.subnet.id, sourceIpRangesToNat: ['ALL_IP_RANGES'] }],
        logConfig: { enable: true, filter: 'ERRORS_ONLY' },
      });
    }
    this.privateServicesRange = new ComputeGlobalAddress(this, 'PrivateServicesRange', {
      name: 'gatehouse-private-services',
      network: this.network.id,
      purpose: 'VPC_PEERING',
      addressType: 'INTERNAL',
      prefixLength: prefix,
    });
    this.privateServicesConnection = new ServiceNetworkingConnection(this, 'PrivateServices', {
      network: this.network.id,
      service: 'servicenetworking.googleapis.com',
      reservedPeeringRanges: [this.privateServicesRange.name],
    });
  }
}
