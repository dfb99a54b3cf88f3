import { PrivateDnsZone, PrivateDnsZoneVirtualNetworkLink, PrivateEndpoint } from './providers';
import { Construct } from 'constructs';
import type { ResourceGroupRef } from './resource-group-ref';

export interface PrivateLinkProps {
  readonly resourceGroup: ResourceGroupRef;
  /** The resource reached privately (a key vault, a storage account). */
  readonly targetResourceId: string;
  /** Sub-resource: `vault`, `blob`, ... */
  readonly subresource: string;
  /** Subnet that holds the endpoint's interface. */
  readonly subnetId: string;
  /**
   * An existing private DNS zone for this service (e.g. one hub zone shared by many VNets).
   * @default a new zone `zoneName`, linked to `virtualNetworkId`
   */
  readonly privateDnsZoneId?: string;
  /** The service's private DNS zone name, e.g. `privatelink.vaultcore.azure.net`. */
  readonly zoneName: string;
  /** VNet the new zone is linked to (ignored with `privateDnsZoneId`). */
  readonly virtualNetworkId: string;
}

/** A private endpoint and the DNS that makes the resource's usual name resolve to it. */
export class PrivateLink extends Construct {
  public readonly endpoint: PrivateEndpoint;
  public readonly dnsZone?: PrivateDnsZone;

  constructor(scope: Construct, id: string, props: PrivateLinkProps) {
    super(scope, id);
    const rg = props.resourceGroup;
    let zoneId = props.privateDnsZoneId;
    if (!zoneId) {
      this.dnsZone = new PrivateDnsZone(this, 'Zone', { name: props.zoneName, resourceGroupName: rg.name });
      new PrivateDnsZoneVirtualNetworkLink(this, 'ZoneLink', {
        name: `${props.subresource}-link`,
        resourceGroupName: rg.name,
        privateDnsZoneName: this.dnsZone.name,
        virtualNetworkId: props.virtualNetworkId,
        registrationEnabled: false,
      });
      zoneId = this.dnsZone.id;
    }
    this.endpoint = new PrivateEndpoint(this, 'Endpoint', {
      name: `${id.toLowerCase()}-pe`,
      resourceGroupName: rg.name,
      location: rg.location,
      subnetId: props.subnetId,
      privateServiceConnection: {
        name: `${id.toLowerCase()}-psc`,
        privateConnectionResourceId: props.targetResourceId,
        subresourceNames: [props.subresource],
        isManualConnection: false,
      },
      privateDnsZoneGroup: { name: 'default', privateDnsZoneIds: [zoneId] },
    });
  }
}
