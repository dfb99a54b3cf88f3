import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** Slack bot, user, app, refresh and legacy tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`). */
export const slackToken: Detector = patternDetector({
  id: 'slack-token',
  type: 'slack_token',
  family: 'secret',
  maxLength: 255,
  pattern: /(?<![A-Za-z0-9_-])xox[abprs]-(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{10,250}(?![A-Za-z0-9_-])/g,
});
