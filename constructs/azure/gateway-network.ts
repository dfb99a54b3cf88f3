import { NatGateway, NatGatewayPublicIpAssociation, NetworkSecurityGroup, PublicIp, Subnet, SubnetNatGatewayAssociation, SubnetNetworkSecurityGroupAssociation, VirtualNetwork } from './providers';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import type { ResourceGroupRef } from './resource-group-ref';

export interface GatewayNetworkProps {
  readonly resourceGroup: ResourceGroupRef;
  /**
   * Address space of the VNet (/24 or larger; /22 or larger when the subnets are carved from it).
   * @default '10.40.0.0/16'
   */
  readonly addressSpace?: string;
  /**
   * Subnet for the Container Apps environment (delegated to `Microsoft.App/environments`;
   * a workload-profiles environment needs at least a /27).
   * @default the first /23 of `addressSpace` ('10.40.0.0/23')
   */
  readonly appsPrefix?: string;
  /**
   * Subnet for private endpoints (Key Vault, Storage).
   * @default the /24 after the apps subnet ('10.40.2.0/24')
   */
  readonly endpointsPrefix?: string;
  /**
   * Subnet for PostgreSQL Flexible Server (delegated to `Microsoft.DBforPostgreSQL/flexibleServers`).
   * @default the /24 after the endpoints subnet ('10.40.3.0/24')
   */
  readonly databasePrefix?: string;
  /**
   * Outbound internet for the gateway (LLM APIs and other upstreams) through a NAT gateway with one
   * static public IP, which upstreams can allow-list. The subnets have no default outbound access,
   * so without it the gateway reaches only the VNet and what is peered or routed to it.
   * @default true
   */
  readonly natGateway?: boolean;
}

/**
 * The gateway's VNet: one subnet each for the Container Apps environment, private endpoints and
 * the database. No subnet has default outbound access; the database subnet's security group
 * admits PostgreSQL only from the apps subnet, plus the subnet's own traffic (HA replication).
 */
export class GatewayNetwork extends Construct {
  public readonly virtualNetwork: VirtualNetwork;
  public readonly appsSubnet: Subnet;
  public readonly endpointsSubnet: Subnet;
  public readonly databaseSubnet: Subnet;
  public readonly databaseSecurityGroup: NetworkSecurityGroup;
  public readonly natGateway?: NatGateway;
  public readonly egressIp?: PublicIp;
  /** The VNet's address space (the default client range). */
  public readonly addressSpace: string;

  constructor(scope: Construct, id: string, props: GatewayNetworkProps) {
    super(scope, id);
    const rg = props.resourceGroup;
    const space = props.addressSpace ?? '10.40.0.0/16';
    this.addressSpace = space;
    validateCidr('addressSpace', space, 24);
    // Subnets not given are carved from the start of the address space (a /23 and two /24s), so a
    // different `addressSpace` alone gives subnets inside it.
    const carved = (offset: number, bits: number, what: string): string => {
      const base = Token.isUnresolved(space) ? undefined : ipv4Of(space);
      if (base === undefined || base.bits > 22) {
        throw new Error(`GatewayNetwork: ${what} cannot be carved from the address space "${space}" (unresolved, or smaller than /22); give a /22 or larger, or give ${what}`);
      }
      return `${ipv4String(base.address + offset)}/${bits}`;
    };
    const apps = props.appsPrefix ?? carved(0, 23, 'appsPrefix');
    const endpoints = props.endpointsPrefix ?? carved(512, 24, 'endpointsPrefix');
    const database = props.databasePrefix ?? carved(768, 24, 'databasePrefix');
    for (const [what, cidr, maxBits] of [['appsPrefix', apps, 27], ['endpointsPrefix', endpoints, 28], ['databasePrefix', database, 28]] as const) {
      validateCidr(what, cidr, maxBits);
    }

    this.virtualNetwork = new VirtualNetwork(this, 'Vnet', {
      name: 'gatehouse-vnet',
      resourceGroupName: rg.name,
      location: rg.location,
      addressSpace: [space],
    });
    const subnet = (sid: string, name: string, prefix: string, delegation?: { name: string; actions: string[] }) =>
      new Subnet(this, sid, {
        name,
        resourceGroupName: rg.name,
        virtualNetworkName: this.virtualNetwork.name,
        addressPrefixes: [prefix],
        defaultOutboundAccessEnabled: false,
        privateEndpointNetworkPolicies: 'Enabled',
        delegation: delegation
          ? [{ name: delegation.name, serviceDelegation: { name: delegation.name, actions: delegation.actions } }]
          : undefined,
      });
    this.appsSubnet = subnet('AppsSubnet', 'gatehouse-apps', apps, {
      name: 'Microsoft.App/environments',
      actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'],
    });
    this.endpointsSubnet = subnet('EndpointsSubnet', 'gatehouse-endpoints', endpoints);
    this.databaseSubnet = subnet('DatabaseSubnet', 'gatehouse-database', database, {
      name: 'Microsoft.DBforPostgreSQL/flexibleServers',
      actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'],
    });

    this.databaseSecurityGroup = new NetworkSecurityGroup(this, 'DatabaseNsg', {
      name: 'gatehouse-database-nsg',
      resourceGroupName: rg.name,
      location: rg.location,
      securityRule: [
        {
          name: 'gateway-to-postgres',
          priority: 100,
          direction: 'Inbound',
          access: 'Allow',
          protocol: 'Tcp',
          sourceAddressPrefix: apps,
          sourcePortRange: '*',
          destinationAddressPrefix: database,
          destinationPortRange: '5432',
        },
        {
          // Zone-redundant HA replicates primary → standby inside this subnet; the deny below
          // would cut it. "Network with private access (virtual network integration) for Azure
          // Database for PostgreSQL", section "Network security groups": with high availability,
          // NSG rules must allow traffic within the delegated subnet (5432 and 6432).
          // learn.microsoft.com/azure/postgresql/flexible-server/concepts-networking-private
          name: 'database-subnet-internal',
          priority: 110,
          direction: 'Inbound',
          access: 'Allow',
          protocol: '*',
          sourceAddressPrefix: database,
          sourcePortRange: '*',
          destinationAddressPrefix: database,
          destinationPortRange: '*',
        },
        {
          name: 'deny-other-vnet-inbound',
          priority: 4000,
          direction: 'Inbound',
          access: 'Deny',
          protocol: '*',
          sourceAddressPrefix: 'VirtualNetwork',
          sourcePortRange: '*',
          destinationAddressPrefix: '*',
          destinationPortRange: '*',
        },
      ],
    });
    new SubnetNetworkSecurityGroupAssociation(this, 'DatabaseNsgAssociation', {
      subnetId: this.databaseSubnet.id,
      networkSecurityGroupId: this.databaseSecurityGroup.id,
    });

    if (props.natGateway !== false) {
      this.egressIp = new PublicIp(this, 'EgressIp', {
        name: 'gatehouse-egress',
        resourceGroupName: rg.name,
        location: rg.location,
        allocationMethod: 'Static',
        sku: 'Standard',
      });
      this.natGateway = new NatGateway(this, 'Nat', {
        name: 'gatehouse-nat',
        resourceGroupName: rg.name,
        location: rg.location,
        skuName: 'Standard',
        idleTimeoutInMinutes: 10,
      });
      new NatGatewayPublicIpAssociation(this, 'NatIp', { natGatewayId: this.natGateway.id, publicIpAddressId: this.egressIp.id });
      new SubnetNatGatewayAssociation(this, 'AppsNat', { subnetId: this.appsSubnet.id, natGatewayId: this.natGateway.id });
    }
  }
}

/** The network address (as a number, host bits cleared) and prefix length of an IPv4 CIDR. */
function ipv4Of(cidr: string): { address: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const bits = Number(m[5]);
  const address = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  return { address: Math.floor(address / size) * size, bits };
}

function ipv4String(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

function validateCidr(what: string, cidr: string, maxBits: number): void {
  if (Token.isUnresolved(cidr)) return;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > maxBits) {
    throw new Error(`GatewayNetwork: ${what} must be an IPv4 CIDR of /${maxBits} or larger, got "${cidr}"`);
  }
}
