import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Slack incoming webhooks, `https://hooks.slack.com/services/T…/B…/…`: the URL is the credential
 * (anyone who has it can post to the channel). The whole URL is masked; a workspace's own Slack
 * links (`https://acme.slack.com/archives/…`) and the bare host are left alone.
 */
export const slackWebhook: Detector = patternDetector({
  id: 'slack-webhook',
  type: 'slack_webhook',
  family: 'secret',
  maxLength: 140,
  pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,14}\/B[A-Z0-9]{6,14}\/[A-Za-z0-9]{20,40}(?![A-Za-z0-9])/g,
  // Slack's own documentation example (`T00000000/B00000000/XXXXXXXX…`) is no credential.
  accept: (url) => !/\/T0+\/B0+\//.test(url) && !/\/(?:X+|x+)$/.test(url),
});
