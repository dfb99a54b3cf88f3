import type { Detection, Detector } from '../detector';

/** File extensions that follow `name@2x.` in asset names; they are not top-level domains here. */
const ASSET_SUFFIX = /\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|css|ts|map|json)$/i;
const DOMAIN = /(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/y;
const MAX_LOCAL = 64;

/**
 * Email addresses: a local part and a dotted domain with an alphabetic TLD. The scan starts
 * from each `@` and extends both ways, because trying a regex at every letter of a large body
 * is several times slower. Not right after `//`: there `user@host` is a URL's user name.
 */
export const email: Detector = {
  id: 'email',
  type: 'email',
  family: 'pii',
  maxLength: 320,
  find(text: string): Detection[] {
    const out: Detection[] = [];
    let at = text.indexOf('@');
    while (at >= 0) at = text.indexOf('@', emailAt(text, at, out));
    return out;
  },
};

const domain = new RegExp(DOMAIN.source, DOMAIN.flags);

/** Whether `c` may be in a local part: letters, digits and `._%+-`. */
function isLocalChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

function isAlnum(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/**
 * The email around the `@` at `at`, if any, appended to `out`; returns where the search for the
 * next `@` resumes. Shared by `find` and the single-pass scanner, so both find the same addresses.
 */
export function emailAt(text: string, at: number, out: Detection[]): number {
  let start = at;
  while (start > 0 && at - start < MAX_LOCAL + 1 && isLocalChar(text.charCodeAt(start - 1))) start--;
  // The local part must start with a letter or digit and not be longer than 64.
  while (start < at && !isAlnum(text.charCodeAt(start))) start++;
  const tooLong = start > 0 && isLocalChar(text.charCodeAt(start - 1));
  const afterSlashes = start >= 2 && text.charCodeAt(start - 1) === 47 && text.charCodeAt(start - 2) === 47;
  if (start < at && !tooLong && !afterSlashes) {
    // Module-level and sticky: emailAt never runs nested, and a RegExp per call costs more than it scans.
    domain.lastIndex = at + 1;
    const m = domain.exec(text);
    if (m) {
      const end = at + 1 + m[0].length;
      if (!ASSET_SUFFIX.test(m[0])) out.push({ start, end, type: 'email', rule: 'email' });
      return end;
    }
  }
  return at + 1;
}
