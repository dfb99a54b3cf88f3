import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * US Social Security numbers written AAA-GG-SSSS. Ranges the SSA never issues (area 000, 666,
 * 900-999; group 00; serial 0000) are excluded, which also rules out many look-alike ids.
 */
export const usSsn: Detector = patternDetector({
  id: 'us-ssn',
  type: 'us_ssn',
  family: 'pii',
  maxLength: 11,
  pattern: /(?<![\w.-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g,
});
