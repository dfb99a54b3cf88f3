import { createHash } from 'node:crypto';
import type { AuthorizationAnswer, EntityJson } from '@cedar-policy/cedar-wasm/web';
import { GatehouseError } from '../errors';
import type { Principal } from '../identity/principal';
import type { PolicyEngine } from '../pipeline/types';
import { loadCedar } from './cedar-runtime';
import type { Decision, Operation } from './decision';
import {
  ACTION,
  CONNECTION,
  DEFAULT_ACTION_GROUPS,
  actionEntityFactory,
  connectionEntity,
  toCedarContext,
  userEntity,
} from './entities';
import { formatPolicyProblems, parsePolicies, type LoadedPolicy, type PolicyProblem, type PolicySource } from './policy-set';

/** Stable decision codes (Decision.code). */
export const DECISION_CODES = {
  permit: 'policy.permit',
  review: 'policy.review',
  forbid: 'policy.forbid',
  noPermit: 'policy.no_permit',
  error: 'policy.error',
} as const;

/** The subset of a pino logger the engine uses. */
export interface PolicyLogger {
  warn(obj: object, msg?: string): void;
}

export interface PolicyEngineOptions {
  /** Cedar policy text, or named sources (one per file) so problems point at the right file. */
  readonly policies: string | readonly PolicySource[];
  /**
   * Extra action groups, group → member actions, added to DEFAULT_ACTION_GROUPS
   * (e.g. `{ 'sql:write': ['sql:insert', 'sql:update', 'sql:delete'] }`).
   */
  readonly actionGroups?: Readonly<Record<string, readonly string[]>>;
  readonly logger?: PolicyLogger;
  /** How many distinct requests' decisions to remember (0 disables the cache). @default 4096 */
  readonly decisionCacheSize?: number;
}

export interface CedarPolicyEngine extends PolicyEngine {
  /** Policy ids in source order. */
  readonly policyIds: readonly string[];
  policy(id: string): LoadedPolicy | undefined;
}

/** Parses and checks policies without building an engine: for config validation, which reports every problem at once. */
export function checkPolicies(policies: string | readonly PolicySource[]): PolicyProblem[] {
  const result = parsePolicies(policies);
  return result.ok ? [] : result.problems;
}

/**
 * Builds the Cedar policy engine. Throws GH_ERR_CONFIG_INVALID (details.problems lists each problem
 * with source, line and column) when the policies do not load, and GH_ERR_POLICY_FAILED when Cedar
 * itself cannot start.
 *
 * Decisions: Cedar's allow becomes `allow`, or `review` when any determining permit carries
 * `@decision("review")`; Cedar's deny becomes `deny` (code `policy.forbid` when a forbid matched,
 * `policy.no_permit` when nothing permitted). Precedence is forbid > review > allow. An evaluation
 * error in a forbid or review policy denies (`policy.error`): skipping such a policy could only
 * loosen the decision. An erroring plain permit simply does not permit, as in Cedar.
 */
export function createPolicyEngine(options: PolicyEngineOptions): CedarPolicyEngine {
  const parsed = parsePolicies(options.policies);
  if (!parsed.ok) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `policies do not load:\n${formatPolicyProblems(parsed.problems)}`, {
      details: { problems: parsed.problems },
    });
  }
  const { policies, cedarPolicies } = parsed.set;
  const cedar = loadCedar();

  // Cedar keeps preparsed sets by id for the life of the process; naming them by content means a
  // reload of the same text reuses the slot instead of growing the table.
  const policySetId = `gatehouse-${createHash('sha256').update(JSON.stringify(cedarPolicies)).digest('hex').slice(0, 32)}`;
  const prepared = cedar.preparsePolicySet(policySetId, { staticPolicies: cedarPolicies });
  if (prepared.type === 'failure') {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `policies do not load: ${prepared.errors.map((e) => e.message).join('; ')}`);
  }

  const actionEntity = boundedCache(actionEntityFactory(mergeGroups(DEFAULT_ACTION_GROUPS, options.actionGroups ?? {})));
  const connectionEntities = boundedCache((key: string) => {
    const [protocol, name] = splitOnce(key);
    return connectionEntity(name, protocol);
  });
  // Per principal object: its entity and a key that identifies its policy-relevant data.
  const principals = new WeakMap<Principal, { entity: EntityJson; key: string }>();
  // A decision depends only on the (immutable) policies and the request, so identical requests
  // (an agent's repeated `POST /v1/messages`) skip the wasm call, which costs tens of µs.
  const decisions = new LruCache<Decision>(options.decisionCacheSize ?? 4096);
  const warnedPolicies = new Set<string>();

  const logger = options.logger;
  const warnOnce = (policyId: string, message: string): void => {
    if (logger === undefined || warnedPolicies.has(policyId)) return;
    warnedPolicies.add(policyId);
    logger.warn({ policyId }, `policy could not be evaluated: ${message}`);
  };

  function decide(principal: Principal, connection: string, operation: Operation): Decision {
    let cacheKey: string | undefined;
    try {
      let known = principals.get(principal);
      if (known === undefined) {
        const entity = userEntity(principal);
        known = { entity, key: JSON.stringify(entity) };
        principals.set(principal, known);
      }
      const context = toCedarContext(operation.attributes);
      cacheKey = `${known.key}\u0000${connection}\u0000${operation.protocol}\u0000${operation.action}\u0000${JSON.stringify(context)}`;
      const cached = decisions.get(cacheKey);
      if (cached !== undefined) return cached;
      // Frozen: cached decisions are shared between callers.
      const decision = Object.freeze(evaluate(known.entity, connection, operation, context));
      Object.freeze(decision.reasons);
      decisions.set(cacheKey, decision);
      return decision;
    } catch (e) {
      logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'policy engine failed; denying');
      return errorDecision([]);
    }
  }

  function evaluate(user: EntityJson, connection: string, operation: Operation, context: Record<string, unknown>): Decision {
    const answer: AuthorizationAnswer = cedar.statefulIsAuthorized({
      principal: user.uid,
      action: { type: ACTION, id: operation.action },
      resource: { type: CONNECTION, id: connection },
      context: context as Record<string, never>,
      preparsedPolicySetId: policySetId,
      entities: [user, actionEntity(operation.action), connectionEntities(`${operation.protocol}\u0000${connection}`)],
    });
    if (answer.type === 'failure') {
      logger?.warn({ errors: answer.errors.map((e) => e.message) }, 'policy request rejected by Cedar; denying');
      return errorDecision([]);
    }

    const { decision, diagnostics } = answer.response;
    const errored: string[] = [];
    const restrictiveErrors: string[] = [];
    for (const e of diagnostics.errors) {
      warnOnce(e.policyId, e.error.message);
      errored.push(e.policyId);
      if (policies.get(e.policyId)?.outcome !== 'allow') restrictiveErrors.push(e.policyId);
    }
    if (restrictiveErrors.length > 0) return errorDecision(restrictiveErrors);

    const determining = diagnostics.reason;
    if (decision === 'deny') {
      if (determining.length > 0) {
        return {
          effect: 'deny',
          code: DECISION_CODES.forbid,
          reasons: determining,
          message: policies.get(determining[0]!)?.message ?? `forbidden by policy ${quoteList(determining)}`,
        };
      }
      if (errored.length > 0) return errorDecision(errored);
      return {
        effect: 'deny',
        code: DECISION_CODES.noPermit,
        reasons: [],
        message: `no policy permits ${operation.action} on connection "${connection}"`,
      };
    }

    const review: string[] = [];
    for (const id of determining) if (policies.get(id)?.outcome === 'review') review.push(id);
    if (review.length > 0) {
      return {
        effect: 'review',
        code: DECISION_CODES.review,
        reasons: review,
        message:
          policies.get(review[0]!)?.message ??
          `policy ${quoteList(review)} requires approval for ${operation.action} on connection "${connection}"`,
      };
    }
    return {
      effect: 'allow',
      code: DECISION_CODES.permit,
      reasons: determining,
      message: `allowed by policy ${quoteList(determining)}`,
    };
  }

  return {
    decide,
    policyIds: [...policies.keys()],
    policy: (id) => policies.get(id),
  };
}

function errorDecision(policyIds: string[]): Decision {
  return {
    effect: 'deny',
    code: DECISION_CODES.error,
    reasons: policyIds,
    message: 'a policy could not be evaluated for this operation, so it is refused',
  };
}

function quoteList(ids: readonly string[]): string {
  let out = '';
  for (const id of ids) out += `${out === '' ? '' : ', '}"${id}"`;
  return out;
}

/** A small LRU over a Map (insertion order); keys longer than a few KB are not worth remembering. */
class LruCache<T> {
  private readonly map = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string): T | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: string, value: T): void {
    if (this.max <= 0 || key.length > 4096) return;
    this.map.delete(key);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, value);
  }
}

function mergeGroups(
  a: Readonly<Record<string, readonly string[]>>,
  b: Readonly<Record<string, readonly string[]>>,
): Record<string, readonly string[]> {
  const merged: Record<string, string[]> = {};
  for (const source of [a, b]) {
    for (const [group, members] of Object.entries(source)) merged[group] = [...(merged[group] ?? []), ...members];
  }
  return merged;
}

function splitOnce(key: string): [string, string] {
  const at = key.indexOf('\u0000');
  return [key.slice(0, at), key.slice(at + 1)];
}

/**
 * Memoises a pure function of a string. Action names can come from the wire (any HTTP method),
 * so the cache is bounded: when full it starts over rather than grow with what callers send.
 */
function boundedCache<T>(compute: (key: string) => T, max = 1024): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      if (cache.size >= max) cache.clear();
      value = compute(key);
      cache.set(key, value);
    }
    return value;
  };
}
