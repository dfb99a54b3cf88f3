/**
 * Where Azure resources go: a resource group's id, name and region. Every construct takes one,
 * so the caller decides whether the group is created (in a stack) or already exists (a data
 * source).
 */
export interface ResourceGroupRef {
  /** Resource id, `/subscriptions/<id>/resourceGroups/<name>` (scope of the kit's custom roles). */
  readonly id: string;
  /** Resource group name. */
  readonly name: string;
  /** Azure region, e.g. `westeurope`. */
  readonly location: string;
}
