/**
 * Custom masking rules from configuration: a regular expression with a declared type and
 * maximum match length, or a dictionary of words (project code names, customer names, ...).
 * Bad rules are refused at start-up with GH_ERR_CONFIG_INVALID: a rule that cannot run must not
 * quietly leave data unmasked.
 */
import { GatehouseError } from '../errors';
import type { Detector } from './detector';
import { patternDetector } from './detectors/pattern';

export interface CustomRegexRule {
  readonly kind: 'regex';
  readonly id: string;
  /** Type name used in type tags and counters, e.g. `employee_id`. */
  readonly type: string;
  /** JavaScript regular expression source (no slashes). */
  readonly pattern: string;
  /** Extra flags among `i`, `m`, `s`, `u`. @default none */
  readonly flags?: string;
  /**
   * Longest text a match can span, at most 65536. Streaming redactors size their window from it.
   * Every repetition in the pattern must be bounded (`\\w{1,64}`, not `\\w+`): a match longer
   * than maxLength would fail the masking of the response it is in.
   */
  readonly maxLength: number;
  /** Capture group to mask instead of the whole match. @default 0 */
  readonly group?: number;
  /** @default 'secret' */
  readonly family?: 'secret' | 'pii';
}

export interface CustomDictionaryRule {
  readonly kind: 'dictionary';
  readonly id: string;
  readonly type: string;
  /** Words or phrases to mask. */
  readonly words: readonly string[];
  /** @default false */
  readonly caseSensitive?: boolean;
  /** Match only whole words (not `acme` inside `acmeish`). @default true */
  readonly wholeWord?: boolean;
  /** @default 'pii' */
  readonly family?: 'secret' | 'pii';
}

export type CustomRule = CustomRegexRule | CustomDictionaryRule;

const ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;

function invalid(rule: { id?: string }, why: string): GatehouseError {
  return new GatehouseError('GH_ERR_CONFIG_INVALID', `masking rule ${JSON.stringify(rule.id ?? '')}: ${why}`, {
    details: { rule: rule.id },
  });
}

function checkCommon(rule: CustomRule): void {
  if (!ID.test(rule.id)) throw invalid(rule, 'id must be 1-64 letters, digits, `_`, `.` or `-`');
  if (!ID.test(rule.type)) throw invalid(rule, 'type must be 1-64 letters, digits, `_`, `.` or `-`');
}

export function customRegexDetector(rule: CustomRegexRule): Detector {
  checkCommon(rule);
  if (!Number.isInteger(rule.maxLength) || rule.maxLength < 1 || rule.maxLength > 65_536) {
    throw invalid(rule, 'maxLength must be an integer between 1 and 65536');
  }
  const flags = rule.flags ?? '';
  if (!/^[imsu]*$/.test(flags)) throw invalid(rule, 'flags may only contain i, m, s, u');
  let re: RegExp;
  try {
    re = new RegExp(rule.pattern, `${flags}g`);
  } catch {
    throw invalid(rule, 'pattern is not a valid regular expression');
  }
  const unbounded = unboundedRepetition(rule.pattern);
  if (unbounded !== undefined) {
    throw invalid(
      rule,
      `pattern has an unbounded repetition (${unbounded}): a match could exceed maxLength ${rule.maxLength}; bound it, e.g. \\w{1,64}`,
    );
  }
  // A pattern that matches the empty string would mask nothing and hide a configuration mistake.
  if (new RegExp(`^(?:${rule.pattern})$`, flags).test('')) throw invalid(rule, 'pattern matches the empty string');
  const groups = new RegExp(`${rule.pattern}|`, flags).exec('')?.length ?? 1;
  const group = rule.group ?? 0;
  if (!Number.isInteger(group) || group < 0 || group >= groups) throw invalid(rule, `group ${group} does not exist in pattern`);
  return patternDetector({
    id: rule.id,
    type: rule.type,
    family: rule.family ?? 'secret',
    maxLength: rule.maxLength,
    pattern: re,
    group,
  });
}

/**
 * The first unbounded repetition (`*`, `+`, `{n,}`) in a pattern source, if any. Escapes and
 * character classes are skipped; `?` after a quantifier (lazy) is not a repetition.
 */
export function unboundedRepetition(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '*' || c === '+') return c;
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
      if (m && m[2] !== undefined && m[3] === '') return m[0];
    }
  }
  return undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function customDictionaryDetector(rule: CustomDictionaryRule): Detector {
  checkCommon(rule);
  const words = [...new Set(rule.words.map((w) => w.trim()).filter((w) => w.length > 0))];
  if (words.length === 0) throw invalid(rule, 'words must hold at least one non-empty word');
  // Longest first, so `Acme Corp` wins over `Acme` at the same position.
  words.sort((a, b) => b.length - a.length);
  const body = words.map(escapeRegExp).join('|');
  const wholeWord = rule.wholeWord ?? true;
  const source = wholeWord ? `(?<![\\p{L}\\p{N}_])(?:${body})(?![\\p{L}\\p{N}_])` : `(?:${body})`;
  return patternDetector({
    id: rule.id,
    type: rule.type,
    family: rule.family ?? 'pii',
    maxLength: words[0]!.length,
    pattern: new RegExp(source, rule.caseSensitive ? 'gu' : 'giu'),
  });
}

/** Builds the detectors for a list of configured rules; ids must be unique. */
export function customDetectors(rules: readonly CustomRule[]): Detector[] {
  const seen = new Set<string>();
  return rules.map((rule) => {
    if (seen.has(rule.id)) throw invalid(rule, 'id is used by another custom rule');
    seen.add(rule.id);
    switch (rule.kind) {
      case 'regex':
        return customRegexDetector(rule);
      case 'dictionary':
        return customDictionaryDetector(rule);
      default:
        throw invalid(rule as { id?: string }, 'kind must be `regex` or `dictionary`');
    }
  });
}
