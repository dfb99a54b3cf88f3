import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Values that are placeholders or references, not secrets: masking them would only add noise.
 * Includes a documented prefix with the rest elided (`sk-ant-api03-...`, `sk-proj-XXXXXXXX`).
 */
const PLACEHOLDER =
  /^(?:null|none|nil|true|false|undefined|\*+|x{3,}|\.{3,}|<[^>]*>|\$\{[^}]*\}?|\$[A-Za-z_][A-Za-z0-9_]*|\{\{[^}]*\}\}|%\([^)]*\)s|redacted|\[redacted\]|\[filtered\]|\[masked\]|process\.env\.[A-Za-z0-9_]+|os\.environ.*|env\(.*|[A-Za-z0-9_-]{0,24}[_-](?:\.{3,}|…|x{6,}|X{6,}|\*{3,}))$/i;

/**
 * Generic `password=...`, `secret: ...`, `"api_key": "..."` assignments in code, config, .env,
 * YAML, JSON and URLs' query strings. Only the value is masked so the key stays readable.
 *
 * The value is the whole value, whatever it holds (issue 15's held-out corpus):
 * - quoted values run to the closing quote, over escaped quotes and backslashes
 *   (`"password": "ab\"cd"` masks `ab\"cd`, not `ab\`);
 * - a pair written as escaped JSON inside a string, a log line or an LLM's text
 *   (`{\"password\":\"hunter2\"}`, up to seven backslashes before each quote, i.e. JSON in JSON
 *   in JSON) is recognised: the key's closing quote and the value's quotes may be escaped;
 * - a bare value stops at `&` only where a query string's next parameter begins (`&name=`), so
 *   `password=Tr0ub4dor&3` masks `Tr0ub4dor&3` while `?password=abc&user=bob` masks `abc`.
 */
export const genericAssignment: Detector = patternDetector({
  id: 'generic-assignment',
  type: 'generic_secret',
  family: 'secret',
  // The longest match, which the stream redactor holds back and findDetections enforces: keyword
  // (13) + escaped quote (8) + spaces and operator (8) + the longest value form: a quoted value of
  // 256 units of at most 2 characters (514 with its quotes), or an escaped-quoted one of 64 units
  // of at most 8 between quotes of at most 8 (528). Every quantifier is bounded, so no input (a run
  // of backslashes) can make a match longer than this and fail masking.
  maxLength: 557,
  pattern:
    /(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|client[_-]?secret|secret[_-]?key|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|passphrase)(?:\\{0,7}["'])?\s{0,3}(?::|=|=>|:=)\s{0,3}(?:"((?:[^"\\\r\n]|\\[^\r\n]){1,256})"|'((?:[^'\\\r\n]|\\[^\r\n]){1,256})'|(\\{1,7})"((?:[^"\\\r\n]|\\{1,7}[^"\\\r\n]|(?!\3")\\{1,7}"){1,64})\3"|((?:[^\s"',;&}\]]|&(?![A-Za-z0-9_.[\]-]{1,64}=)){1,256}))/gi,
  // The value sits in one of four groups: double-quoted, single-quoted, escaped-quoted (group 3
  // holds its opening backslashes, which must close it too) or bare.
  group: [1, 2, 4, 5],
  accept: (value) => !PLACEHOLDER.test(value.trim()) && value.trim().length >= 3,
});
