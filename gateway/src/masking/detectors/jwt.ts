import type { Detector } from '../detector';
import { patternDetector } from './pattern';
import { pendingFromTrailingRun } from './pending';

/** A JWT's header is base64url JSON with an `alg`; checking that rules out look-alike dotted strings. */
function headerHasAlg(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && typeof (parsed as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

/** JSON Web Tokens (JWS compact form; an empty signature, as with `alg: none`, still counts). */
const rule = patternDetector({
  id: 'jwt',
  type: 'jwt',
  family: 'secret',
  maxLength: 12_000,
  pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,2000}\.[A-Za-z0-9_-]{2,8000}\.[A-Za-z0-9_-]{0,1500}(?![A-Za-z0-9_-])/g,
  accept: headerHasAlg,
});

/** Base64url letters, digits, `-`, `_` and the dots between the three parts. */
function isTokenChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95 || c === 46;
}

/** A token still arriving is inside the run of token characters at the end of the text. */
export const jwt: Detector = { ...rule, find: rule.find, pendingFrom: pendingFromTrailingRun(isTokenChar, rule.maxLength) };
