import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** File extensions that follow `name@2x.` in asset names; they are not top-level domains here. */
const ASSET_SUFFIX = /\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|css|ts|map|json)$/i;

/**
 * Email addresses (the local part and a dotted domain with an alphabetic TLD). Not right after
 * `//`: there `user@host` is a URL's user name, not a mailbox.
 */
export const email: Detector = patternDetector({
  id: 'email',
  type: 'email',
  family: 'pii',
  maxLength: 320,
  pattern: /(?<![A-Za-z0-9._%+-]|\/\/)[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
  accept: (v) => !ASSET_SUFFIX.test(v),
});
