import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Phone numbers in E.164 (`+14155552671`, `+44 20 7946 0958`) and common national layouts
 * (US `(415) 555-2671` / `415-555-2671` / `415.555.2671`, FR `06 12 34 56 78`, UK `020 7946 0958`).
 * Bare digit runs without a `+` or separators are NOT matched: they are usually ids or timestamps.
 */
export const phone: Detector = patternDetector({
  id: 'phone',
  type: 'phone',
  family: 'pii',
  maxLength: 24,
  pattern: new RegExp(
    [
      // E.164, optionally grouped with spaces, dots or dashes. Not inside base64 or words.
      String.raw`(?<![A-Za-z0-9+/=_-])\+[1-9](?:[ .-]?\(?\d\)?){7,14}(?![\d-])`,
      // US / NANP: area code and exchange start with 2-9.
      String.raw`(?<![\w.+/-])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}([-.]))[2-9]\d{2}(?:\1|-)\d{4}(?![\w-]|\.\d)`,
      // French 10 digits in pairs, UK 0xx(x) groups.
      String.raw`(?<![\w.+/-])0[1-9](?: \d{2}){4}(?![\w-])`,
      String.raw`(?<![\w.+/-])0\d{2,4} \d{3,4} ?\d{3,4}(?![\w-])`,
    ].join('|'),
    'g',
  ),
  accept: (v) => {
    const digits = v.replace(/\D/g, '').length;
    return digits >= 9 && digits <= 15;
  },
});
