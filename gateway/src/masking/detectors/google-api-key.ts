import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Google API keys (Maps, Gemini, Firebase, YouTube, …): `AIza` and 35 URL-safe base64 characters,
 * 39 in all. Keys meant for browsers still grant quota and, for Gemini, data: masked like any key.
 */
export const googleApiKey: Detector = patternDetector({
  id: 'google-api-key',
  type: 'google_api_key',
  family: 'secret',
  maxLength: 39,
  pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g,
});
