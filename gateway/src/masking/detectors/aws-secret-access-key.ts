import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * AWS secret access keys are 40 base64-ish characters with no prefix, so on their own they look
 * like any hash. Requiring an AWS context word just before keeps precision; only the value is masked.
 */
export const awsSecretAccessKey: Detector = patternDetector({
  id: 'aws-secret-access-key',
  type: 'aws_secret_access_key',
  family: 'secret',
  maxLength: 80,
  pattern:
    /(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key|SecretAccessKey|aws_?secret)["']?\s{0,4}(?::|=|=>)\s{0,4}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
  group: 1,
  // A 40-char all-hex or all-digit value is a SHA-1 or an id, never an AWS secret.
  accept: (v) => !/^[0-9a-f]{40}$/i.test(v) && /[A-Z]/.test(v) && /[a-z]/.test(v),
});
