import { isIPv6 } from 'node:net';
import type { Detection, Detector } from '../detector';

/** Hex digit, `:` or `.`: the characters an IPv6 address (with an IPv4 tail) is made of. */
function isRunChar(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46;
}
const PAIR = /:[0-9A-Fa-f]{0,4}:/g;
/** `\w` without the regex: letters, digits, underscore. */
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
const MAX = 45;

/**
 * IPv6 addresses, full or `::`-compressed (with an optional embedded IPv4 tail). Every address
 * holds a `:`, so the scan starts at colons, takes the whole surrounding run of hex digits,
 * colons and dots, and lets node's parser decide: that rejects times (10:30:45) and MAC
 * addresses. Runs are skipped whole, so the scan stays linear.
 */
export const ipv6Address: Detector = {
  id: 'ipv6-address',
  type: 'ip_address',
  family: 'pii',
  maxLength: MAX,
  find(text: string): Detection[] {
    const out: Detection[] = [];
    // Every address has two colons with at most four hex digits between them (`::`, `db8:1:`);
    // the regex engine finds those fast, while most colons (`"key":`, `a: b`) fail at once.
    // Module-level and reset here: find() never runs nested, and a new RegExp per call would
    // cost more than scanning a short JSON string.
    const pair = PAIR;
    pair.lastIndex = 0;
    let found = pair.exec(text);
    while (found !== null) {
      const colon = found.index;
      let start = colon;
      while (start > 0 && isRunChar(text.charCodeAt(start - 1))) start--;
      let end = colon + 1;
      while (end < text.length && isRunChar(text.charCodeAt(end))) end++;
      // Trailing punctuation (`addr.` ending a sentence, `addr:` before a port) is not part of it.
      let stop = end;
      while (stop - start > 2 && (text[stop - 1] === '.' || (text[stop - 1] === ':' && text[stop - 2] !== ':'))) stop--;
      while (start < stop && text[start] === '.') start++;
      const length = stop - start;
      if (
        length >= 3 &&
        length <= MAX &&
        (start === 0 || !isWordChar(text.charCodeAt(start - 1))) &&
        (stop >= text.length || !isWordChar(text.charCodeAt(stop)))
      ) {
        const candidate = text.slice(start, stop);
        if (/[0-9A-Fa-f]/.test(candidate) && isIPv6(candidate)) {
          out.push({ start, end: stop, type: 'ip_address', rule: 'ipv6-address' });
        }
      }
      pair.lastIndex = Math.max(end, colon + 1);
      found = pair.exec(text);
    }
    return out;
  },
};
