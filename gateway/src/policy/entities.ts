import type { EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/web';
import type { Principal } from '../identity/principal';
import type { Operation } from './decision';

/**
 * The Cedar entity model (docs/policy.md documents it for policy authors; keep the two in step):
 *
 *   principal  Gatehouse::User::"<issuerName>|<subject>"   attrs subject, issuer, issuerName, kind, name
 *                 in Gatehouse::Group::"<group>" for each of the principal's groups
 *   action     Gatehouse::Action::"<operation.action>"     e.g. "http:GET", "sql:select"
 *                 in its action groups (e.g. "http:read"), in "<prefix>:<kind>" when the operation
 *                 has a `kind` attribute (e.g. "sql:write"), and in "<prefix>:any"
 *   resource   Gatehouse::Connection::"<connection name>"  attrs name, protocol
 *   context    the operation's attributes (method, path, host, ...)
 */
export const USER = 'Gatehouse::User';
export const GROUP = 'Gatehouse::Group';
export const ACTION = 'Gatehouse::Action';
export const CONNECTION = 'Gatehouse::Connection';
export const ENTITY_TYPES: ReadonlySet<string> = new Set([USER, GROUP, ACTION, CONNECTION]);

/**
 * Built-in action groups: group → member actions. Every action `<protocol>:<verb>` is also a member
 * of `<protocol>:any`, so a policy can name a whole protocol. Protocols add their groups here (or pass
 * `actionGroups` to the engine) as they arrive.
 */
/** The SFTP operations judged by policy, as `ssh:sftp:<op>` (protocols/ssh/sftp/bridge.ts). */
export const SFTP_OPS = ['open', 'opendir', 'stat', 'lstat', 'setstat', 'remove', 'rename', 'mkdir', 'rmdir', 'symlink', 'link', 'readlink', 'realpath', 'extended'] as const;

export const DEFAULT_ACTION_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'http:read': ['http:GET', 'http:HEAD', 'http:OPTIONS'],
  'http:write': ['http:POST', 'http:PUT', 'http:PATCH', 'http:DELETE'],
  // Every SFTP file operation is in `ssh:sftp` (also the action of opening the subsystem):
  // `action in Gatehouse::Action::"ssh:sftp"` permits the subsystem and all it does (protocols/ssh/sftp).
  'ssh:sftp': SFTP_OPS.map((op) => `ssh:sftp:${op}`),
};

/**
 * Kind groups: an operation whose attributes carry a `kind` (SQL statements: read, write, call, ddl,
 * admin, transaction, other) is also a member of `<prefix>:<kind>`, where `<prefix>` is its action's
 * prefix (`sql:select` with kind `write` is in `sql:write`). Membership follows what this statement
 * does, not its command: `SELECT ... FOR UPDATE` and `SELECT nextval('s')` are in `sql:write`,
 * `SELECT app.f()` (a function not on the read allow-list) in `sql:call`, `SELECT pg_read_file(...)`
 * in `sql:admin`, and none of them is in `sql:read`. Every statement is in exactly one kind group.
 */
export const SQL_KIND_GROUPS: readonly string[] = ['sql:read', 'sql:write', 'sql:call', 'sql:ddl', 'sql:admin', 'sql:transaction', 'sql:other'];

const KIND = /^[a-z][a-z0-9_-]{0,31}$/;

/** The kind group of an operation (`sql:write`), or undefined when it has no usable `kind`. */
export function kindGroupOf(operation: Operation): string | undefined {
  const kind = operation.attributes.kind;
  if (typeof kind !== 'string' || !KIND.test(kind)) return undefined;
  const colon = operation.action.indexOf(':');
  return colon > 0 ? `${operation.action.slice(0, colon)}:${kind}` : undefined;
}

export function userUid(principal: Principal): EntityUidJson {
  return { type: USER, id: `${principal.issuerName}|${principal.subject}` };
}

/*
 * The builders below run on the request path. They use plain loops on purpose: on Node 20, a lazy
 * deoptimisation inside an inlined Array.prototype.map / spread of a Set crashed the process
 * (V8 fatal "unreachable code" in Deoptimizer::DoComputeBuiltinContinuation) when principals of a
 * new object shape arrived after the code had been optimised for another.
 */

/** The principal as one Cedar entity. Group entities are not needed: `in` reads the user's parents. */
export function userEntity(principal: Principal): EntityJson {
  const parents: EntityUidJson[] = [];
  const seen = new Set<string>();
  const groups = principal.groups;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (seen.has(g)) continue;
    seen.add(g);
    parents.push({ type: GROUP, id: g });
  }
  return {
    uid: userUid(principal),
    attrs: {
      subject: principal.subject,
      issuer: principal.issuer,
      issuerName: principal.issuerName,
      kind: principal.kind,
      name: principal.name,
    },
    parents,
  };
}

export function connectionEntity(connection: string, protocol: string): EntityJson {
  return { uid: { type: CONNECTION, id: connection }, attrs: { name: connection, protocol }, parents: [] };
}

/**
 * Returns a builder of the action entity. Its parents are all of its ancestors (action groups,
 * groups of groups, and `<protocol>:any`), flattened: Cedar then needs no group entities, and each
 * extra entity costs measurable time per decision in the wasm build.
 */
export function actionEntityFactory(
  groups: Readonly<Record<string, readonly string[]>>,
): (action: string, extraGroups?: readonly string[]) => EntityJson {
  const parentsOf = new Map<string, Set<string>>();
  for (const [group, members] of Object.entries(groups)) {
    for (const member of members) {
      const set = parentsOf.get(member) ?? new Set<string>();
      set.add(group);
      parentsOf.set(member, set);
    }
  }
  return (action, extraGroups = []) => {
    const ancestors = new Set<string>();
    const visit = (id: string): void => {
      const direct = new Set(parentsOf.get(id) ?? []);
      // Operation-dependent groups (the kind group) are direct parents of the action itself.
      if (id === action) for (const g of extraGroups) direct.add(g);
      const protocolAny = anyGroupOf(id);
      if (protocolAny !== undefined && protocolAny !== id) direct.add(protocolAny);
      for (const parent of direct) {
        if (parent === action || ancestors.has(parent)) continue;
        ancestors.add(parent);
        visit(parent);
      }
    };
    visit(action);
    const parents: EntityUidJson[] = [];
    for (const id of ancestors) parents.push({ type: ACTION, id });
    return { uid: { type: ACTION, id: action }, attrs: {}, parents };
  };
}

function anyGroupOf(action: string): string | undefined {
  const colon = action.indexOf(':');
  return colon > 0 ? `${action.slice(0, colon)}:any` : undefined;
}

type CedarContextValue = string | number | boolean | string[] | Record<string, string>;

/** A plain copy of a record of strings (HTTP's parsed query), own keys only. */
function recordOf(value: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in value) {
    if (Object.prototype.hasOwnProperty.call(value, k)) Object.defineProperty(out, k, { value: String(value[k]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Operation attributes become the Cedar context. Cedar numbers are 64-bit integers: other numbers
 * are passed as strings so a policy can still compare them, rather than failing the request.
 */
export function toCedarContext(attributes: Operation['attributes']): Record<string, CedarContextValue> {
  // No prototype: an attribute named `__proto__` stays an ordinary key.
  const context: Record<string, CedarContextValue> = Object.create(null) as Record<string, CedarContextValue>;
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const value = attributes[key];
    if (typeof value === 'number') context[key] = Number.isSafeInteger(value) ? value : String(value);
    else if (Array.isArray(value)) context[key] = (value as readonly string[]).slice();
    else if (typeof value === 'object' && value !== null) context[key] = recordOf(value as Readonly<Record<string, string>>);
    else context[key] = value as string | boolean;
  }
  return context;
}
