import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** PEM private keys of any algorithm (RSA, EC, OPENSSH, ENCRYPTED, PKCS#8), armour included. */
export const pemPrivateKey: Detector = patternDetector({
  id: 'pem-private-key',
  type: 'private_key',
  family: 'secret',
  maxLength: 16_200,
  pattern:
    /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----[\s\S]{1,16000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----/g,
});
