import type { Detection, Detector } from '../../../gateway/src/masking/detector';

/** A regex detector for tests; `g` is added. */
export function regexDetector(id: string, type: string, source: string, maxLength: number): Detector {
  const re = new RegExp(source, 'g');
  return {
    id,
    type,
    family: 'secret',
    maxLength,
    find(text: string): Detection[] {
      const out: Detection[] = [];
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0].length === 0) {
          re.lastIndex += 1;
          continue;
        }
        out.push({ start: m.index, end: m.index + m[0].length, type, rule: id });
      }
      return out;
    },
  };
}

export const secretDetector = regexDetector('test.secret', 'secret_token', 'SECRET-[0-9]{8}', 15);
// Bounded quantifiers keep maxLength honest: 1..20 + 1 + 1..20 + 1 + 2..6 = 48.
export const emailDetector = regexDetector('test.email', 'email', '[a-z0-9._]{1,20}@[a-z0-9-]{1,20}\\.[a-z]{2,6}', 48);
export const testDetectors: readonly Detector[] = [secretDetector, emailDetector];

/** Deterministic PRNG (mulberry32) so random splits are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
