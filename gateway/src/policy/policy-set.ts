import type { DetailedError, PolicyJson } from '@cedar-policy/cedar-wasm/web';
import { loadCedar } from './cedar-runtime';
import { ENTITY_TYPES } from './entities';

/**
 * Turns Cedar policy text into a policy set the engine can use: every policy gets a stable id
 * (`@id("...")`, else `policy<N>` in source order), Gatehouse annotations are read and checked, and
 * every problem is reported with its source position so config loading can show them all at once.
 */

/** A named piece of Cedar text: a policy file, or `inline` for the config's `policy.cedar`. */
export interface PolicySource {
  readonly name: string;
  readonly text: string;
  /** Set for a built-in rule pack (packs/): its policies classify but never grant on their own. */
  readonly pack?: string;
}

export interface PolicyProblem {
  /** Source name (file path or `inline`). */
  readonly source: string;
  /** 1-based line and column of the problem, when Cedar or we could locate it. */
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

/** What a policy's annotations ask of the gateway once the policy is determining. */
export type PolicyOutcome = 'allow' | 'review' | 'deny';

export interface LoadedPolicy {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  /** `review` for permits annotated `@decision("review")`; `deny` for forbids; else `allow`. */
  readonly outcome: PolicyOutcome;
  /** `@message("...")`: an explanation safe to show the caller when this policy decides. */
  readonly message?: string;
  readonly source: string;
  /** The rule pack the policy comes from; undefined for the user's own policies. */
  readonly pack?: string;
  readonly line: number;
  /** The policy's own Cedar text. */
  readonly text: string;
  /** Cedar's JSON form of the policy (scope, conditions, annotations). */
  readonly json: PolicyJson;
}

export interface ParsedPolicySet {
  /** Ids in source order. */
  readonly policies: ReadonlyMap<string, LoadedPolicy>;
  /** The form Cedar takes: id → text. */
  readonly cedarPolicies: Readonly<Record<string, string>>;
}

export type ParseResult = { ok: true; set: ParsedPolicySet } | { ok: false; problems: PolicyProblem[] };

/** Annotations Gatehouse reads. Others are allowed (Cedar keeps them) and ignored. */
export const DECISION_ANNOTATION = 'decision';
export const ID_ANNOTATION = 'id';
export const MESSAGE_ANNOTATION = 'message';
const DECISION_VALUES = new Set(['allow', 'review']);
const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function parsePolicies(input: string | readonly PolicySource[]): ParseResult {
  const sources = typeof input === 'string' ? [{ name: 'inline', text: input }] : input;
  const cedar = loadCedar();
  const problems: PolicyProblem[] = [];
  const policies = new Map<string, LoadedPolicy>();
  let fallbackCounter = 0;

  for (const source of sources) {
    const parts = cedar.policySetTextToParts(source.text);
    if (parts.type === 'failure') {
      problems.push(...parts.errors.map((e) => problemFromCedar(source, e)));
      continue;
    }
    for (const template of parts.policy_templates) {
      problems.push({
        ...locate(source, source.text.indexOf(template)),
        message: 'policy templates (with ?principal or ?resource slots) are not supported; write static policies',
      });
    }
    for (const text of inSourceOrder(parts.policies)) {
      const offset = source.text.indexOf(text);
      const where = locate(source, offset);
      const json = cedar.policyToJson(text);
      if (json.type === 'failure') {
        problems.push(...json.errors.map((e) => problemFromCedar(source, e, offset)));
        continue;
      }
      // Position-based, like Cedar's own ids: giving one policy an @id does not renumber the others.
      const fallbackId = `policy${fallbackCounter++}`;
      const policy = readPolicy(json.json, text, fallbackId, where, problems, source.pack);
      if (policy === undefined) continue;
      if (policies.has(policy.id)) {
        const first = policies.get(policy.id)!;
        problems.push({ ...where, message: `duplicate policy id "${policy.id}" (first used at ${first.source}:${first.line})` });
        continue;
      }
      policies.set(policy.id, policy);
    }
  }

  if (problems.length > 0) return { ok: false, problems };
  const cedarPolicies: Record<string, string> = {};
  for (const [id, p] of policies) cedarPolicies[id] = p.text;
  return { ok: true, set: { policies, cedarPolicies } };
}

/** Renders problems as `source:line:column: message` lines, for errors and logs. */
export function formatPolicyProblems(problems: readonly PolicyProblem[]): string {
  return problems
    .map((p) => `${p.source}${p.line === undefined ? '' : `:${p.line}:${p.column ?? 1}`}: ${p.message}`)
    .join('\n');
}

/**
 * Cedar returns the parts sorted by the ids it assigned (`policy0`, `policy1`, `policy10`, `policy2`
 * ... compared as strings); undo that so fallback ids follow the order a person reads the file in.
 */
function inSourceOrder(parts: readonly string[]): string[] {
  const cedarIds = parts.map((_, i) => `policy${i}`);
  const sorted = [...cedarIds].sort();
  const byIndex = new Array<string>(parts.length);
  sorted.forEach((id, position) => {
    byIndex[Number(id.slice('policy'.length))] = parts[position]!;
  });
  return byIndex;
}

function readPolicy(
  json: PolicyJson,
  text: string,
  fallbackId: string,
  where: { source: string; line?: number; column?: number },
  problems: PolicyProblem[],
  pack: string | undefined,
): LoadedPolicy | undefined {
  const annotations = json.annotations ?? {};
  const before = problems.length;
  const id = annotations[ID_ANNOTATION] ?? fallbackId;
  if (!POLICY_ID.test(id)) {
    problems.push({ ...where, message: `@id("${id}") must be 1-128 letters, digits, ".", "_", ":" or "-"` });
  }
  const decision = annotations[DECISION_ANNOTATION];
  if (decision !== undefined) {
    if (json.effect === 'forbid') {
      problems.push({ ...where, message: `@decision applies to permit policies only (policy "${id}" is a forbid)` });
    } else if (!DECISION_VALUES.has(decision)) {
      problems.push({ ...where, message: `@decision("${decision}") is not one of: ${[...DECISION_VALUES].join(', ')}` });
    }
  }
  for (const type of entityTypesIn(json)) {
    if (!ENTITY_TYPES.has(type)) {
      problems.push({
        ...where,
        message: `policy "${id}" names entity type ${type}, which never occurs; use one of ${[...ENTITY_TYPES].join(', ')}`,
      });
    }
  }
  if (problems.length > before) return undefined;
  return {
    id,
    effect: json.effect,
    outcome: json.effect === 'forbid' ? 'deny' : decision === 'review' ? 'review' : 'allow',
    message: annotations[MESSAGE_ANNOTATION],
    source: where.source,
    ...(pack === undefined ? {} : { pack }),
    line: where.line ?? 1,
    text,
    json,
  };
}

/** Every entity type a policy mentions (scope constraints, entity literals, `is` tests). */
function entityTypesIn(json: PolicyJson): Set<string> {
  const types = new Set<string>();
  const addUid = (uid: unknown): void => {
    if (uid === null || typeof uid !== 'object') return;
    const record = uid as Record<string, unknown>;
    const inner = (record.__entity ?? record) as Record<string, unknown>;
    if (typeof inner.type === 'string') types.add(inner.type);
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'entity' || key === '__entity') addUid(value);
      else if (key === 'entities' && Array.isArray(value)) value.forEach(addUid);
      else if (key === 'entity_type' && typeof value === 'string') types.add(value);
      else walk(value);
    }
  };
  walk([json.principal, json.action, json.resource, json.conditions]);
  return types;
}

function problemFromCedar(source: PolicySource, error: DetailedError, baseOffset = 0): PolicyProblem {
  const location = error.sourceLocations?.[0];
  const detail = [location?.label, error.help].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const message = detail.length > 0 ? `${error.message} (${detail.join('; ')})` : error.message;
  if (location === undefined) return { source: source.name, message };
  return { ...locate(source, baseOffset + utf8OffsetToIndex(source.text, baseOffset, location.start)), message };
}

/** Cedar reports UTF-8 byte offsets (relative to the text it parsed); JavaScript indexes UTF-16. */
function utf8OffsetToIndex(text: string, from: number, byteOffset: number): number {
  const slice = Buffer.from(text.slice(from), 'utf8').subarray(0, byteOffset).toString('utf8');
  return slice.length;
}

function locate(source: PolicySource, index: number): { source: string; line?: number; column?: number } {
  if (index < 0) return { source: source.name };
  const before = source.text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return { source: source.name, line, column };
}
