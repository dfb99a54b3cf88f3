import { GatehouseError } from '../../errors';
import { loadCedar } from '../cedar-runtime';
import type { PolicySource } from '../policy-set';
import { HTTP_GUARDRAILS } from './http-guardrails';
import { SQL_GUARDRAILS } from './sql-guardrails';
import { SSH_GUARDRAILS } from './ssh-guardrails';

/**
 * Built-in rule packs: Cedar policies that classify operations as review or deny (they never grant;
 * see the engine). Selected in config with `policy.packs`; a rule is switched off by its id with
 * `{ name, disable: [ids] }`, after which the user's own Cedar can say what should happen instead.
 */
export interface PolicyPack {
  readonly name: string;
  readonly description: string;
  /** Cedar text; every rule has an `@id("pack.<area>.<rule>")`. */
  readonly text: string;
}

export const POLICY_PACKS: Readonly<Record<string, PolicyPack>> = {
  'sql-guardrails': {
    name: 'sql-guardrails',
    description: 'DDL and TRUNCATE need approval; unbounded UPDATE/DELETE, privilege changes and server access are refused',
    text: SQL_GUARDRAILS,
  },
  'http-guardrails': {
    name: 'http-guardrails',
    description: 'DELETE and writes to admin paths need approval; unusual methods are refused',
    text: HTTP_GUARDRAILS,
  },
  'ssh-guardrails': {
    name: 'ssh-guardrails',
    description: 'exec command lines that wipe, reformat or power off a host: recursive removes and permission changes of / are refused, disk writes and reboots need approval (a string heuristic on the exec command line only)',
    text: SSH_GUARDRAILS,
  },
};

export const POLICY_PACK_NAMES: readonly string[] = Object.keys(POLICY_PACKS);

/** A pack as selected in config: its name, or its name and the rule ids to leave out. */
export type PackSelection = string | { readonly name: string; readonly disable?: readonly string[] };

interface PackRule {
  readonly id: string;
  readonly text: string;
}

const rulesCache = new Map<string, readonly PackRule[]>();

/** The rules of a pack, each with its id and own Cedar text, in source order. */
export function packRules(name: string): readonly PackRule[] {
  const cached = rulesCache.get(name);
  if (cached) return cached;
  const pack = POLICY_PACKS[name];
  if (pack === undefined) throw unknownPack([name]);
  const cedar = loadCedar();
  const parts = cedar.policySetTextToParts(pack.text);
  if (parts.type === 'failure') throw new GatehouseError('GH_ERR_POLICY_FAILED', `built-in pack ${name} does not parse`);
  const rules = parts.policies
    .map((text) => {
      const json = cedar.policyToJson(text);
      const id = json.type === 'success' ? json.json.annotations?.id : undefined;
      if (id === undefined) throw new GatehouseError('GH_ERR_POLICY_FAILED', `built-in pack ${name} has a rule without @id`);
      return { id, text, at: pack.text.indexOf(text) };
    })
    .sort((a, b) => a.at - b.at)
    .map(({ id, text }) => ({ id, text }));
  rulesCache.set(name, rules);
  return rules;
}

/** Problems with a pack selection (unknown packs, unknown or misplaced rule ids), all at once. */
export function checkPackSelection(selection: readonly PackSelection[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of selection) {
    const name = typeof entry === 'string' ? entry : entry.name;
    if (POLICY_PACKS[name] === undefined) {
      problems.push(`unknown policy pack "${name}" (known: ${POLICY_PACK_NAMES.join(', ')})`);
      continue;
    }
    if (seen.has(name)) problems.push(`policy pack "${name}" is selected twice`);
    seen.add(name);
    const ids = new Set(packRules(name).map((r) => r.id));
    for (const id of typeof entry === 'string' ? [] : (entry.disable ?? [])) {
      if (!ids.has(id)) problems.push(`policy pack "${name}" has no rule "${id}" to disable (its rules: ${[...ids].join(', ')})`);
    }
  }
  return problems;
}

/**
 * The policy sources for a pack selection, named `pack:<name>`, without the disabled rules.
 * Throws GH_ERR_CONFIG_INVALID listing every problem with the selection.
 */
export function packSources(selection: readonly PackSelection[]): PolicySource[] {
  const problems = checkPackSelection(selection);
  if (problems.length > 0) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `policy.packs: ${problems.join('; ')}`, { details: { problems } });
  }
  return selection.map((entry) => {
    const name = typeof entry === 'string' ? entry : entry.name;
    const disabled = new Set(typeof entry === 'string' ? [] : (entry.disable ?? []));
    const text = packRules(name)
      .filter((r) => !disabled.has(r.id))
      .map((r) => r.text)
      .join('\n\n');
    return { name: `pack:${name}`, text, pack: name };
  });
}

function unknownPack(names: readonly string[]): GatehouseError {
  return new GatehouseError('GH_ERR_CONFIG_INVALID', `unknown policy pack ${names.map((n) => `"${n}"`).join(', ')} (known: ${POLICY_PACK_NAMES.join(', ')})`);
}
