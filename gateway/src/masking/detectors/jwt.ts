import type { Detector } from '../detector';
import { patternDetector } from './pattern';

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
export const jwt: Detector = patternDetector({
  id: 'jwt',
  type: 'jwt',
  family: 'secret',
  maxLength: 12_000,
  pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,2000}\.[A-Za-z0-9_-]{2,8000}\.[A-Za-z0-9_-]{0,1500}(?![A-Za-z0-9_-])/g,
  accept: headerHasAlg,
});
