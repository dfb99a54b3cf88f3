import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { GatehouseError } from '../errors';

/** A jti longer than this is hashed instead: it ends up in every record of the session. */
const MAX_JTI_LENGTH = 128;

function claimsError(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_TOKEN_CLAIMS', message);
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Checks exp (required), nbf and iat against `nowSeconds`, each allowed `skewSeconds` of clock
 * difference between us and the issuer.
 */
export function checkTokenTimes(claims: JWTPayload, nowSeconds: number, skewSeconds: number): void {
  const { exp, nbf, iat } = claims;
  if (exp === undefined) throw claimsError('token has no "exp" claim; tokens without an expiry are refused');
  if (!isTimestamp(exp)) throw claimsError('token "exp" claim is not a number');
  if (nbf !== undefined && !isTimestamp(nbf)) throw claimsError('token "nbf" claim is not a number');
  if (iat !== undefined && !isTimestamp(iat)) throw claimsError('token "iat" claim is not a number');
  if (nowSeconds - skewSeconds >= exp) {
    throw new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'token has expired', {
      details: { expiredSecondsAgo: Math.floor(nowSeconds - exp), clockSkewSeconds: skewSeconds },
    });
  }
  if (nbf !== undefined && nbf > nowSeconds + skewSeconds) {
    throw new GatehouseError('GH_ERR_TOKEN_NOT_YET_VALID', 'token is not valid yet ("nbf" is in the future)', {
      details: { validInSeconds: Math.ceil(nbf - nowSeconds), clockSkewSeconds: skewSeconds },
    });
  }
  if (iat !== undefined && iat > nowSeconds + skewSeconds) {
    throw new GatehouseError('GH_ERR_TOKEN_NOT_YET_VALID', 'token was issued in the future ("iat" is ahead of our clock)', {
      details: { aheadBySeconds: Math.ceil(iat - nowSeconds), clockSkewSeconds: skewSeconds },
    });
  }
}

/** At least one of the token's audiences must be one we accept. */
export function checkAudience(claims: JWTPayload, accepted: readonly string[]): void {
  const { aud } = claims;
  if (aud === undefined) throw new GatehouseError('GH_ERR_TOKEN_AUDIENCE', 'token has no "aud" claim');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === 'string')) {
    throw claimsError('token "aud" claim is neither a string nor an array of strings');
  }
  if (!audiences.some((a) => accepted.includes(a))) {
    throw new GatehouseError('GH_ERR_TOKEN_AUDIENCE', 'token audience is not one this gateway accepts');
  }
}

export function requireSubject(claims: JWTPayload): string {
  if (typeof claims.sub !== 'string' || claims.sub === '') throw claimsError('token has no "sub" claim');
  return claims.sub;
}

/**
 * Reads a claim by exact name first (namespaced claims such as `https://acme.example/groups`
 * contain dots), then as a dot path into nested objects (Keycloak's `realm_access.roles`).
 */
export function readClaim(claims: JWTPayload, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  if (!name.includes('.')) return undefined;
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Groups from an array of strings or a space-separated string; a missing claim means none. */
export function readGroups(claims: JWTPayload, claimName: string): string[] {
  const value = readClaim(claims, claimName);
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(/\s+/).filter((g) => g !== '');
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return value.filter((g) => g !== '');
  throw claimsError(`token groups claim "${claimName}" is neither an array of strings nor a space-separated string`);
}

/** The configured name claim, then email, preferred_username, and finally the subject. */
export function readDisplayName(claims: JWTPayload, nameClaim: string, subject: string): string {
  for (const candidate of [readClaim(claims, nameClaim), claims.email, claims.preferred_username]) {
    if (typeof candidate === 'string' && candidate !== '') return candidate;
  }
  return subject;
}

/** `jti` when the issuer set one, else a short hash: correlates requests without storing the token. */
export function tokenIdOf(claims: JWTPayload, token: string): string {
  if (typeof claims.jti === 'string' && claims.jti !== '' && claims.jti.length <= MAX_JTI_LENGTH) return claims.jti;
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export function uniqueInOrder(values: readonly string[]): string[] {
  return [...new Set(values)];
}
