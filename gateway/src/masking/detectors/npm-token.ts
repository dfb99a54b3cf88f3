import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** npm access tokens (classic and granular): `npm_` and 36 alphanumerics (the last six a checksum). */
export const npmToken: Detector = patternDetector({
  id: 'npm-token',
  type: 'npm_token',
  family: 'secret',
  maxLength: 40,
  pattern: /(?<![A-Za-z0-9_-])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_-])/g,
});
