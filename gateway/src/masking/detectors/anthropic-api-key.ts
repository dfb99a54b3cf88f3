import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Anthropic credentials: API keys `sk-ant-api03-…` (93 URL-safe base64 characters and `AA`),
 * Admin API keys `sk-ant-admin01-…` (the same shape), and the OAuth access and refresh tokens
 * Claude Code holds (`sk-ant-oat01-…`, `sk-ant-ort01-…`). The version digits and a little length
 * tolerance are left open so the next version is still caught; documentation placeholders
 * (`sk-ant-api03-...`, `sk-ant-xxxx`) are far too short to match.
 */
export const anthropicApiKey: Detector = patternDetector({
  id: 'anthropic-api-key',
  type: 'anthropic_api_key',
  family: 'secret',
  maxLength: 230,
  pattern: /(?<![A-Za-z0-9_-])sk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_-]{80,200}(?![A-Za-z0-9_-])/g,
});
