import { isIPv6 } from 'node:net';
import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * IPv6 addresses, full or `::`-compressed (with an optional embedded IPv4 tail). The regex finds
 * colon-separated hex candidates; node's parser decides, which rejects times and MAC addresses.
 */
export const ipv6Address: Detector = patternDetector({
  id: 'ipv6-address',
  type: 'ip_address',
  family: 'pii',
  maxLength: 45,
  pattern:
    /(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?<=[0-9A-Fa-f]|::)(?:\.\d{1,3}){0,3}(?![\w:])/g,
  accept: (v) => v.length >= 3 && /[0-9A-Fa-f]/.test(v) && isIPv6(v),
});
