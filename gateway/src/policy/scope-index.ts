import type { PolicyJson, TypeAndId } from '@cedar-policy/cedar-wasm/web';
import { ACTION, CONNECTION, GROUP, USER } from './entities';

/**
 * Pre-filters policies by their scope (the `principal, action, resource` head) so Cedar evaluates
 * only those that could apply: each policy in the set costs a few µs per decision in the wasm
 * build. The filter must never drop a policy that could match — dropping a forbid would let a
 * request through — so anything it does not fully understand is kept.
 */
export interface RequestScope {
  readonly userId: string;
  readonly groups: ReadonlySet<string>;
  readonly action: string;
  /** The action and all of its ancestors. */
  readonly actions: ReadonlySet<string>;
  readonly connection: string;
}

export type ScopeTest = (request: RequestScope) => boolean;

export function scopeTest(json: PolicyJson): ScopeTest {
  const principal = principalTest(json.principal);
  const action = actionTest(json.action);
  const resource = resourceTest(json.resource);
  return (r) => principal(r) && action(r) && resource(r);
}

const always: ScopeTest = () => true;

function uidOf(value: unknown): TypeAndId | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const inner = (record.__entity ?? record) as Record<string, unknown>;
  return typeof inner.type === 'string' && typeof inner.id === 'string' ? { type: inner.type, id: inner.id } : undefined;
}

/** Could the principal be `uid` or a descendant of it? */
function principalIn(uid: TypeAndId): ScopeTest {
  if (uid.type === USER) return (r) => r.userId === uid.id;
  if (uid.type === GROUP) return (r) => r.groups.has(uid.id);
  return () => false; // the principal is in no other type of entity
}

function principalTest(constraint: PolicyJson['principal']): ScopeTest {
  const c = constraint as { op: string; entity?: unknown; entity_type?: string; in?: { entity?: unknown } };
  if (c.op === '==') {
    const uid = uidOf(c.entity);
    if (uid === undefined) return always;
    return uid.type === USER ? (r) => r.userId === uid.id : () => false;
  }
  if (c.op === 'in') {
    const uid = uidOf(c.entity);
    return uid === undefined ? always : principalIn(uid);
  }
  if (c.op === 'is') {
    if (c.entity_type !== USER) return () => false;
    const uid = uidOf(c.in?.entity);
    return uid === undefined ? always : principalIn(uid);
  }
  return always;
}

function actionTest(constraint: PolicyJson['action']): ScopeTest {
  const c = constraint as { op: string; entity?: unknown; entities?: unknown[] };
  if (c.op === '==') {
    const uid = uidOf(c.entity);
    if (uid === undefined) return always;
    return uid.type === ACTION ? (r) => r.action === uid.id : () => false;
  }
  if (c.op === 'in') {
    const uids = (c.entities ?? [c.entity]).map(uidOf);
    if (uids.some((u) => u === undefined)) return always;
    const ids = uids.filter((u) => u!.type === ACTION).map((u) => u!.id);
    return (r) => ids.some((id) => r.actions.has(id));
  }
  return always;
}

function resourceTest(constraint: PolicyJson['resource']): ScopeTest {
  const c = constraint as { op: string; entity?: unknown; entity_type?: string; in?: { entity?: unknown } };
  if (c.op === '==' || c.op === 'in') {
    // Connections have no parents, so `in` means `==` here.
    const uid = uidOf(c.entity);
    if (uid === undefined) return always;
    return uid.type === CONNECTION ? (r) => r.connection === uid.id : () => false;
  }
  if (c.op === 'is') {
    if (c.entity_type !== CONNECTION) return () => false;
    const uid = uidOf(c.in?.entity);
    if (uid === undefined) return always;
    return uid.type === CONNECTION ? (r) => r.connection === uid.id : () => false;
  }
  return always;
}

/** What of the request's entities a policy can observe; entities it cannot observe need not be passed. */
export interface EntityNeeds {
  /** The principal's attributes. */
  userAttrs: boolean;
  /** The principal's groups (an `in` on the principal). */
  userParents: boolean;
  /** The action entity and its groups (an `in` on the action). */
  action: boolean;
  /** The connection's attributes. */
  resourceAttrs: boolean;
}

export function noEntityNeeds(): EntityNeeds {
  return { userAttrs: false, userParents: false, action: false, resourceAttrs: false };
}

export function addEntityNeeds(into: EntityNeeds, from: EntityNeeds): void {
  into.userAttrs ||= from.userAttrs;
  into.userParents ||= from.userParents;
  into.action ||= from.action;
  into.resourceAttrs ||= from.resourceAttrs;
}

/**
 * Conservative: an attribute read on anything but a plain variable, or any `in` in a condition,
 * counts as needing everything it could touch.
 */
export function entityNeeds(json: PolicyJson): EntityNeeds {
  const needs = noEntityNeeds();
  const principal = json.principal as { op: string; in?: unknown };
  if (principal.op === 'in' || (principal.op === 'is' && principal.in !== undefined)) needs.userParents = true;
  if ((json.action as { op: string }).op === 'in') needs.action = true;
  const variable = (e: unknown): string | undefined => {
    if (e === null || typeof e !== 'object') return undefined;
    const v = (e as Record<string, unknown>).Var;
    return typeof v === 'string' ? v : undefined;
  };
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === '.' || key === 'has' || key === 'hasTag' || key === 'getTag') {
        const target = variable((value as Record<string, unknown> | null)?.left);
        if (target === 'principal') needs.userAttrs = true;
        else if (target === 'resource') needs.resourceAttrs = true;
        else if (target !== 'context' && target !== 'action') {
          needs.userAttrs = true;
          needs.resourceAttrs = true;
        }
      } else if (key === 'in' || key === 'is') {
        needs.userParents = true;
        needs.action = true;
      }
      walk(value);
    }
  };
  walk(json.conditions);
  return needs;
}
