import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens, and fine-grained PATs. */
export const githubToken: Detector = patternDetector({
  id: 'github-token',
  type: 'github_token',
  family: 'secret',
  maxLength: 266,
  pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
});
