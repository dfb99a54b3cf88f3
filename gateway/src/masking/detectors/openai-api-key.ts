import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * OpenAI API keys: project, service-account and admin keys (`sk-proj-…`, `sk-svcacct-…`,
 * `sk-admin-…`; today 58 or 74 URL-safe base64 characters, `T3BlbkFJ` and as many again, earlier
 * project keys 48 characters), and legacy user keys `sk-` + 20 + `T3BlbkFJ` + 20 alphanumerics
 * (`T3BlbkFJ` is "OpenAI" in base64). A bare `sk-` and 48 characters without the marker is not
 * taken: DeepSeek, Moonshot and many others use that shape for their own keys and ids.
 */
export const openaiApiKey: Detector = patternDetector({
  id: 'openai-api-key',
  type: 'openai_api_key',
  family: 'secret',
  maxLength: 270,
  pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_-])/g,
});
