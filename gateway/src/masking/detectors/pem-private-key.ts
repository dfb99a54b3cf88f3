import type { Detector } from '../detector';
import { patternDetector } from './pattern';
import { pendingFromLastMarker } from './pending';

/**
 * PEM private keys of any algorithm (RSA, EC, OPENSSH, ENCRYPTED, PKCS#8), armour included. The
 * body may not contain `-----`, so an unterminated BEGIN stops at the next armour line instead of
 * scanning 16 000 characters ahead (which made repeated BEGINs quadratic).
 */
const rule = patternDetector({
  id: 'pem-private-key',
  type: 'private_key',
  family: 'secret',
  maxLength: 16_200,
  pattern:
    /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s:,.\\]|-(?!----)){1,16000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----/g,
});

/** The body cannot hold `-----`, so only the last BEGIN can start a key still arriving. */
export const pemPrivateKey: Detector = { ...rule, find: rule.find, pendingFrom: pendingFromLastMarker('-----BEGIN', rule.maxLength) };
