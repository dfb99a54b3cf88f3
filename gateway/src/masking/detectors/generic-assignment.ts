import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** Values that are placeholders or references, not secrets: masking them would only add noise. */
const PLACEHOLDER =
  /^(?:null|none|nil|true|false|undefined|\*+|x{3,}|\.{3,}|<[^>]*>|\$\{[^}]*\}?|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%\([^)]*\)s|redacted|\[redacted\]|\[filtered\]|\[masked\]|process\.env\.[A-Za-z0-9_]+|os\.environ.*|env\(.*)$/i;

/**
 * Generic `password=...`, `secret: ...`, `"api_key": "..."` assignments in code, config, .env,
 * YAML, JSON and URLs' query strings. Only the value is masked so the key stays readable.
 */
export const genericAssignment: Detector = patternDetector({
  id: 'generic-assignment',
  type: 'generic_secret',
  family: 'secret',
  maxLength: 320,
  pattern:
    /(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|client[_-]?secret|secret[_-]?key|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|passphrase)["']?\s{0,3}(?::|=|=>|:=)\s{0,3}(?:"([^"\r\n]{1,256})"|'([^'\r\n]{1,256})'|([^\s"',;&}\]]{1,256}))/gi,
  // The value sits in one of three groups: double-quoted, single-quoted or bare.
  group: [1, 2, 3],
  accept: (value) => !PLACEHOLDER.test(value.trim()) && value.trim().length >= 3,
});
