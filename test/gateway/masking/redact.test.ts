import type { Detection, Detector } from '../../../gateway/src/masking/detector';
import { redactText, resolveOverlaps } from '../../../gateway/src/masking/redact';
import { createReplacement } from '../../../gateway/src/masking/replacement';
import { isGatehouseError } from '../../../gateway/src/errors';
import { emailDetector, regexDetector, secretDetector, testDetectors } from './redact.helpers';

const tag = createReplacement({ kind: 'type_tag' });

function fixedDetector(id: string, type: string, spans: Array<[number, number]>, maxLength = 100): Detector {
  return {
    id,
    type,
    family: 'secret',
    maxLength,
    find: () => spans.map(([start, end]): Detection => ({ start, end, type, rule: id })),
  };
}

function failure(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('redactText', () => {
  it('replaces every detection and counts them by type', () => {
    const r = redactText('key SECRET-12345678 to alice@example.com and SECRET-87654321.', testDetectors, tag);
    expect(r.text).toBe('key [SECRET_TOKEN] to [EMAIL] and [SECRET_TOKEN].');
    expect(r.counts).toEqual({ secret_token: 2, email: 1 });
  });

  it('leaves text without detections unchanged, with empty counts', () => {
    const r = redactText('SECRET-1234 is too short; no at sign here', testDetectors, tag);
    expect(r.text).toBe('SECRET-1234 is too short; no at sign here');
    expect(r.counts).toEqual({});
  });

  it('overlapping detections: the longest names the span, the union is replaced (no fragment left)', () => {
    const short = fixedDetector('short', 'short', [[2, 6]]);
    const long = fixedDetector('long', 'long', [[4, 12]]);
    const r = redactText('0123456789abcdef', [short, long], tag);
    expect(r.text).toBe('01[LONG]cdef');
    expect(r.counts).toEqual({ long: 1 });
  });

  it('equally long overlapping detections: the earliest wins, whatever the detector order', () => {
    const a = fixedDetector('a', 'first', [[2, 8]]);
    const b = fixedDetector('b', 'second', [[4, 10]]);
    expect(redactText('0123456789abcdef', [a, b], tag).text).toBe('01[FIRST]abcdef');
    expect(redactText('0123456789abcdef', [b, a], tag).text).toBe('01[FIRST]abcdef');
  });

  it('identical spans from two detectors: the earlier detector names it; counted once', () => {
    const a = fixedDetector('a', 'alpha', [[0, 4]]);
    const b = fixedDetector('b', 'beta', [[0, 4]]);
    const r = redactText('abcdefg', [a, b], tag);
    expect(r.text).toBe('[ALPHA]efg');
    expect(r.counts).toEqual({ alpha: 1 });
  });

  it('touching (not overlapping) detections stay separate', () => {
    const a = fixedDetector('a', 'alpha', [[0, 3]]);
    const b = fixedDetector('b', 'beta', [[3, 6]]);
    expect(redactText('abcdefg', [a, b], tag).text).toBe('[ALPHA][BETA]g');
  });

  it('resolveOverlaps returns disjoint spans sorted by start', () => {
    const spans = resolveOverlaps([
      { start: 10, end: 12, type: 'x', rule: 'x' },
      { start: 0, end: 3, type: 'y', rule: 'y' },
      { start: 2, end: 5, type: 'z', rule: 'z' },
    ]);
    expect(spans).toEqual([
      { start: 0, end: 5, type: 'y', rule: 'y' },
      { start: 10, end: 12, type: 'x', rule: 'x' },
    ]);
  });

  it('keyed hash keeps equal secrets equal inside one text', () => {
    const r = redactText('SECRET-11111111 SECRET-11111111 SECRET-22222222', [secretDetector], createReplacement({ kind: 'keyed_hash', key: 'x'.repeat(16) }));
    const [a, b, c] = r.text.split(' ');
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(r.text).not.toContain('SECRET-');
  });

  it('fails closed with GH_ERR_MASKING_FAILED when a detector throws, without quoting the text', () => {
    const broken: Detector = { ...emailDetector, id: 'broken', find: () => { throw new Error('boom SECRET-12345678'); } };
    const e = failure(() => redactText('SECRET-12345678', [secretDetector, broken], tag));
    expect(isGatehouseError(e, 'GH_ERR_MASKING_FAILED')).toBe(true);
    expect((e as Error).message).not.toContain('SECRET-12345678');
  });

  it('fails closed on invalid detections and on matches longer than maxLength', () => {
    for (const d of [
      fixedDetector('oob', 'x', [[0, 99]]),
      fixedDetector('empty', 'x', [[3, 3]]),
      fixedDetector('neg', 'x', [[-1, 2]]),
      fixedDetector('long', 'x', [[0, 5]], 4),
      regexDetector('lying', 'x', 'a+', 2),
    ]) {
      expect(isGatehouseError(failure(() => redactText('aaaaaaaaaa', [d], tag)), 'GH_ERR_MASKING_FAILED')).toBe(true);
    }
  });

  it('fails closed when the replacement throws', () => {
    const bad = () => {
      throw new Error('nope');
    };
    expect(isGatehouseError(failure(() => redactText('SECRET-12345678', [secretDetector], bad)), 'GH_ERR_MASKING_FAILED')).toBe(true);
  });
});
