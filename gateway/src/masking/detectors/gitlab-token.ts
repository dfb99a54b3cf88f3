import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** GitLab personal, project and group access tokens (`glpat-`). */
export const gitlabToken: Detector = patternDetector({
  id: 'gitlab-token',
  type: 'gitlab_token',
  family: 'secret',
  maxLength: 70,
  pattern: /(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])/g,
});
