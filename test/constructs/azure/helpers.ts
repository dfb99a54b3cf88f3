import type { ResourceGroupRef } from '../../../constructs/azure/resource-group-ref';

export const RG: ResourceGroupRef = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/gh-test',
  name: 'gh-test',
  location: 'westeurope',
};
export const VNET_ID = `${RG.id}/providers/Microsoft.Network/virtualNetworks/v`;
export const SUBNET_ID = `${VNET_ID}/subnets/endpoints`;
export const IMAGE = 'example.azurecr.io/gatehouse:test';
