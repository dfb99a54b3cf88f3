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
  let busy = false;
  return {
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
  function scan(re: RegExp, text: string): Detection[] {
    const out: Detection[] = [];
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      let start: number;
      let value: string | undefined;
      if (wholeMatch) {
        start = m.index;
        value = m[0];
      } else {
        const group = groups.find((g) => m![g] !== undefined) ?? 0;
        const span = m.indices?.[group];
        value = m[group];
        if (span === undefined) continue;
        start = span[0];
      }
      if (value === undefined || value.length === 0) continue;
      if (rule.accept && !rule.accept(value, m)) continue;
      out.push({ start, end: start + value.length, type: rule.type, rule: rule.id });
    }
    return out;
  }
}
