import type { Detection, Detector } from '../detector';

/** File extensions that follow `name@2x.` in asset names; they are not top-level domains here. */
const ASSET_SUFFIX = /\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|css|ts|map|json)$/i;
const LOCAL_CHAR = /[A-Za-z0-9._%+-]/;
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
    const domain = new RegExp(DOMAIN.source, DOMAIN.flags);
    let at = text.indexOf('@');
    while (at >= 0) {
      let start = at;
      while (start > 0 && at - start < MAX_LOCAL + 1 && LOCAL_CHAR.test(text[start - 1]!)) start--;
      // The local part must start with a letter or digit and not be longer than 64.
      while (start < at && !/[A-Za-z0-9]/.test(text[start]!)) start++;
      const tooLong = start > 0 && LOCAL_CHAR.test(text[start - 1]!);
      const afterSlashes = start >= 2 && text[start - 1] === '/' && text[start - 2] === '/';
      let next = at + 1;
      if (start < at && !tooLong && !afterSlashes) {
        domain.lastIndex = at + 1;
        const m = domain.exec(text);
        if (m) {
          const end = at + 1 + m[0].length;
          if (!ASSET_SUFFIX.test(m[0])) out.push({ start, end, type: 'email', rule: 'email' });
          next = end;
        }
      }
      at = text.indexOf('@', next);
    }
    return out;
  },
};
