import type { Detection, Detector } from '../detector';

/** A detector described by one regular expression plus an optional check on each candidate. */
export interface PatternRule {
  readonly id: string;
  readonly type: string;
  readonly family: 'secret' | 'pii';
  readonly maxLength: number;
  /** Must carry the `g` flag; `d` is added so capture groups have offsets. */
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
  const flags = new Set(rule.pattern.flags.split(''));
  flags.add('g');
  flags.add('d');
  const source = rule.pattern.source;
  const flagString = [...flags].join('');
  const groups: readonly number[] = typeof rule.group === 'number' ? [rule.group] : rule.group ?? [0];
  return {
    id: rule.id,
    type: rule.type,
    family: rule.family,
    maxLength: rule.maxLength,
    find(text: string): Detection[] {
      // A fresh RegExp per call keeps find() reentrant (lastIndex is per-object state).
      const re = new RegExp(source, flagString);
      const out: Detection[] = [];
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        const group = groups.find((g) => m![g] !== undefined) ?? 0;
        const span = m.indices?.[group];
        const value = m[group];
        if (span === undefined || value === undefined || value.length === 0) continue;
        if (rule.accept && !rule.accept(value, m)) continue;
        out.push({ start: span[0], end: span[1], type: rule.type, rule: rule.id });
      }
      return out;
    },
  };
}
