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
      pair.lastIndex = ipv6At(text, found.index, out);
      found = pair.exec(text);
    }
    return out;
  },
};

/**
 * The address around the colon at `colon` (which starts a `:hhhh:` pair), if any, appended to
 * `out`; returns where the search for the next pair resumes. Shared by `find` and the
 * single-pass scanner.
 */
export function ipv6At(text: string, colon: number, out: Detection[]): number {
  let start = colon;
  let colons = 1;
  let double = false;
  while (start > 0 && isRunChar(text.charCodeAt(start - 1))) {
    start--;
    if (text.charCodeAt(start) === 58) {
      colons++;
      if (text.charCodeAt(start + 1) === 58) double = true;
    }
  }
  let end = colon + 1;
  while (end < text.length && isRunChar(text.charCodeAt(end))) {
    if (text.charCodeAt(end) === 58) {
      colons++;
      if (text.charCodeAt(end - 1) === 58) double = true;
    }
    end++;
  }
  // Every IPv6 address has `::` or at least six colons (eight groups, or six and an IPv4 tail):
  // times (12:30:45) and most other colon runs are dismissed without the parser.
  if (!double && colons < 6) return Math.max(end, colon + 1);
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
  return Math.max(end, colon + 1);
}
