import type { JWTPayload } from 'jose';

export interface SubjectRule {
  /** Glob over `sub`: `*` matches any run of characters (including none); nothing else is special. */
  readonly subject: string;
  /** Claims that must equal these strings exactly. */
  readonly claims?: Readonly<Record<string, string>>;
  /** Groups granted when the rule matches. */
  readonly groups?: readonly string[];
}

export interface CompiledSubjectRule {
  matches(claims: JWTPayload): boolean;
  readonly groups: readonly string[];
}

/** Compiles once at start so a request never builds a regular expression from config text. */
export function compileSubjectRule(rule: SubjectRule): CompiledSubjectRule {
  const pattern = new RegExp(`^${rule.subject.split('*').map(escapeRegExp).join('.*')}$`, 's');
  const required = Object.entries(rule.claims ?? {});
  return {
    groups: [...(rule.groups ?? [])],
    matches(claims) {
      if (typeof claims.sub !== 'string' || !pattern.test(claims.sub)) return false;
      return required.every(([name, value]) => claims[name] === value);
    },
  };
}

/**
 * The groups granted by every matching rule, or `undefined` when none matches (the caller
 * refuses the token then: a workload issuer's tokens are accepted only for listed subjects).
 */
export function groupsFromSubjectRules(rules: readonly CompiledSubjectRule[], claims: JWTPayload): string[] | undefined {
  let matched = false;
  const groups: string[] = [];
  for (const rule of rules) {
    if (!rule.matches(claims)) continue;
    matched = true;
    groups.push(...rule.groups);
  }
  return matched ? groups : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
