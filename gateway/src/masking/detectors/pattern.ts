import type { Detection, Detector } from '../detector';

/** A detector described by one regular expression plus an optional check on each candidate. */
export interface PatternRule {
  readonly id: string;
  readonly type: string;
  readonly family: 'secret' | 'pii';
  readonly maxLength: number;
  /** `g` is added, and `d` when a capture group is masked (so the group has offsets). */
  readonly pattern: RegExp;
  /**
   * Capture group whose text is masked (e.g. only the value of `password=...`); with a list, the
   * first group that took part in the match. @default 0, the whole match
   */
  readonly group?: number | readonly number[];
  /** Rejects candidates the pattern cannot rule out on its own (checksums, known prefixes). */
  readonly accept?: (value: string, match: RegExpExecArray) => boolean;
}

/**
 * Tries a pattern detector's rule at exactly one offset (a sticky copy of its regex), appending
 * an accepted detection to `out`. Returns the end of the rule's whole match (accepted or not),
 * which is where the rule's own scan would resume, or -1 when nothing matches there.
 */
export type MatchAt = (text: string, at: number, out: Detection[]) => number;

/** Keyed by `find`, which survives `{ ...rule, find: rule.find, pendingFrom }` wrappers. */
const matchers = new WeakMap<object, MatchAt>();

/** The one-offset matcher of a detector built by patternDetector, if it is one. */
export function matchAtOf(detector: Detector): MatchAt | undefined {
  return matchers.get(detector.find);
}

export function patternDetector(rule: PatternRule): Detector {
  if (!Number.isFinite(rule.maxLength) || rule.maxLength <= 0) {
    throw new Error(`detector ${rule.id}: maxLength must be a positive finite number`);
  }
  const groups: readonly number[] = typeof rule.group === 'number' ? [rule.group] : rule.group ?? [0];
  const wholeMatch = groups.length === 1 && groups[0] === 0;
  const flags = new Set(rule.pattern.flags.split(''));
  flags.add('g');
  // Match indices cost an allocation per match; only capture groups need them.
  if (!wholeMatch) flags.add('d');
  const source = rule.pattern.source;
  const flagString = [...flags].join('');
  const shared = new RegExp(source, flagString);
  const sticky = new RegExp(source, flagString.replace('g', '') + 'y');
  let busy = false;
  const detector: Detector = {
    id: rule.id,
    type: rule.type,
    family: rule.family,
    maxLength: rule.maxLength,
    find(text: string): Detection[] {
      // One RegExp per detector, reused: building one per call costs more than scanning a short
      // JSON string. A nested call (an accept() that scans again) gets its own, since lastIndex is
      // per-object state.
      const re = busy ? new RegExp(source, flagString) : shared;
      const owner = !busy;
      busy = true;
      re.lastIndex = 0;
      try {
        return scan(re, text);
      } finally {
        if (owner) busy = false;
      }
    },
  };
  matchers.set(detector.find, (text: string, at: number, out: Detection[]): number => {
    sticky.lastIndex = at;
    const m = sticky.exec(text);
    if (m === null) return -1;
    if (m[0].length === 0) return -1;
    take(m, out);
    return at + m[0].length;
  });
  return detector;

  function take(m: RegExpExecArray, out: Detection[]): void {
    let start: number;
    let value: string | undefined;
    if (wholeMatch) {
      start = m.index;
      value = m[0];
    } else {
      const group = groups.find((g) => m[g] !== undefined) ?? 0;
      const span = m.indices?.[group];
      value = m[group];
      if (span === undefined) return;
      start = span[0];
    }
    if (value === undefined || value.length === 0) return;
    if (rule.accept && !rule.accept(value, m)) return;
    out.push({ start, end: start + value.length, type: rule.type, rule: rule.id });
  }

  function scan(re: RegExp, text: string): Detection[] {
    const out: Detection[] = [];
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      take(m, out);
    }
    return out;
  }
}
