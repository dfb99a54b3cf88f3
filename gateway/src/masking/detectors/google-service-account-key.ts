import type { Detector } from '../detector';
import { patternDetector } from './pattern';
import { pendingFromLastMarker } from './pending';

/**
 * Google service-account key files (JSON): the PEM in `private_key` (newlines escaped as `\n`)
 * and the 40-hex `private_key_id`. Only the string values are masked.
 */
const rule = patternDetector({
  id: 'google-service-account-key',
  type: 'gcp_service_account_key',
  family: 'secret',
  maxLength: 8200,
  pattern:
    /"private_key(?:_id)?"\s{0,4}:\s{0,4}"(-----BEGIN (?:RSA )?PRIVATE KEY-----[A-Za-z0-9+/=\\ \r\n]{16,8000}?-----END (?:RSA )?PRIVATE KEY-----(?:\\n)?|[0-9a-f]{40})"/g,
  group: 1,
});

/** The quoted value cannot hold `"`, so only the last `"private_key` can start a key still arriving. */
export const googleServiceAccountKey: Detector = { ...rule, find: rule.find, pendingFrom: pendingFromLastMarker('"private_key', rule.maxLength) };
