import type { Detector } from '../detector';
import { ibanChecksumValid } from './checksums';
import { patternDetector } from './pattern';

/** IBAN lengths by country (ISO 13616 registry, common countries). */
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AT: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18,
  EE: 20, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GI: 23, GL: 18, GR: 27, HR: 21, HU: 28, IE: 22,
  IL: 23, IS: 26, IT: 27, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MT: 31,
  NL: 18, NO: 15, PK: 24, PL: 28, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SE: 24, SI: 19, SK: 24,
  SM: 27, TN: 24, TR: 26, UA: 29,
};

/** IBANs, compact or printed in groups of four, with a valid country length and mod-97 checksum. */
export const iban: Detector = patternDetector({
  id: 'iban',
  type: 'iban',
  family: 'pii',
  maxLength: 42,
  pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])/g,
  accept: (v) => {
    const compact = v.replace(/ /g, '');
    return IBAN_LENGTH[compact.slice(0, 2)] === compact.length && ibanChecksumValid(compact);
  },
});
