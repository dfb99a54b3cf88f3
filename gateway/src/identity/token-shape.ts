import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { GatehouseError } from '../errors';

/**
 * Upper bound on a token's length. Real OIDC tokens (even with many groups) stay well below it;
 * the bound keeps a hostile client from making us base64-decode and parse megabytes.
 */
export const MAX_TOKEN_LENGTH = 32 * 1024;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface UnverifiedToken {
  readonly header: ProtectedHeaderParameters;
  readonly payload: JWTPayload;
}

/**
 * Reads a compact JWS without verifying it, only so the verifier can route it to the right
 * issuer and refuse a disallowed algorithm before fetching anything. Nothing read here is
 * trusted: every claim is checked again on the verified payload.
 */
export function readUnverifiedToken(token: string | undefined | null): UnverifiedToken {
  if (token === undefined || token === null || token.trim() === '') {
    throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'no bearer token was presented');
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', `token is longer than ${MAX_TOKEN_LENGTH} characters`, {
      details: { length: token.length },
    });
  }
  if (!COMPACT_JWS.test(token)) {
    throw new GatehouseError(
      'GH_ERR_TOKEN_MALFORMED',
      'token is not a compact JWS (three base64url parts separated by dots)',
    );
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'token header is not a base64url-encoded JSON object', { cause });
  }
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch (cause) {
    throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'token payload is not a base64url-encoded JSON object', { cause });
  }
  return { header, payload };
}
