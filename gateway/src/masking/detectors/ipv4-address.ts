import type { Detector } from '../detector';
import { patternDetector } from './pattern';

const OCTET = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;

/** Dotted-quad IPv4 addresses, not when part of a longer dotted number (versions, OIDs). */
export const ipv4Address: Detector = patternDetector({
  id: 'ipv4-address',
  type: 'ip_address',
  family: 'pii',
  maxLength: 15,
  pattern: new RegExp(String.raw`(?<![\w.])${OCTET}(?:\.${OCTET}){3}(?![\w]|\.\d)`, 'g'),
});
