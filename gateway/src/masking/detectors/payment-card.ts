import type { Detector } from '../detector';
import { luhnValid } from './checksums';
import { patternDetector } from './pattern';

/** Issuer prefixes of the major networks; a Luhn-valid number outside them is probably an id. */
const KNOWN_IIN =
  /^(?:4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9])|35(?:2[89]|[3-8]\d)|62)/;

/**
 * Payment card numbers (13-19 digits, optionally grouped by spaces or dashes) passing Luhn and an
 * IIN check. Every card layout starts with two groups of at least four digits; requiring that up
 * front lets the regex engine reject most digit runs (ids, dates, hex) after a few characters.
 */
export const paymentCard: Detector = patternDetector({
  id: 'payment-card',
  type: 'payment_card',
  family: 'pii',
  maxLength: 23,
  pattern: /(?<![\w.-])\d{4}[ -]?\d{4}(?:[ -]?\d){5,11}(?![\w-]|\.\d)/g,
  accept: (v) => {
    if (v.length > 23) return false;
    const digits = v.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19) return false;
    // Mixed separators (`4111 1111-1111`) are not how cards are written.
    if (v.includes(' ') && v.includes('-')) return false;
    return KNOWN_IIN.test(digits) && luhnValid(digits);
  },
});
