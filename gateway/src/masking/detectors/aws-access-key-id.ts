import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** AWS access key ids: long-term (AKIA) and temporary (ASIA), 20 upper-case alphanumerics. */
export const awsAccessKeyId: Detector = patternDetector({
  id: 'aws-access-key-id',
  type: 'aws_access_key_id',
  family: 'secret',
  maxLength: 20,
  pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
});
