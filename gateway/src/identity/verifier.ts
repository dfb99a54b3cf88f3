import { compactVerify } from 'jose';
import type { CryptoKey, JWK, JWTPayload, ProtectedHeaderParameters } from 'jose';
import type { IssuerConfig } from '../config/schema';
import { GatehouseError } from '../errors';
import type { IdentityVerifier } from '../pipeline/types';
import {
  checkAudience,
  checkTokenTimes,
  readDisplayName,
  readGroups,
  requireSubject,
  tokenIdOf,
  uniqueInOrder,
} from './claims';
import { algorithmForJwk, DEV_ISSUER_NAME } from './dev-issuer';
import { RemoteKeySource, staticKeySource } from './key-source';
import type { KeyResolver, KeySetSnapshot, KeySource } from './key-source';
import type { IdentityLogger } from './logger';
import type { Principal } from './principal';
import { compileSubjectRule, groupsFromSubjectRules } from './subject-rules';
import type { CompiledSubjectRule } from './subject-rules';
import { readUnverifiedToken } from './token-shape';

export interface DevIssuerTrust {
  /** The dev issuer's public key (from `loadDevIssuer`). A private key is refused. */
  readonly publicJwk: JWK;
  /** The dev issuer's `iss` (`DEV_ISSUER`). */
  readonly issuer: string;
  /** The audience dev tokens must carry (config `identity.devIssuer.audience`). */
  readonly audience: string;
}

export interface IdentityVerifierOptions {
  /** Trusted issuers, validated by the config schema. */
  readonly issuers: readonly IssuerConfig[];
  /** Trust the local development issuer too. Refused when `mode` is `production`. */
  readonly devIssuer?: DevIssuerTrust;
  /** When given, a dev issuer in `production` mode is refused here as well (defence in depth). */
  readonly mode?: 'development' | 'production';
  /** Used for discovery and JWKS requests. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Current time in milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  readonly logger?: IdentityLogger;
  /**
   * A token naming an unknown `kid` triggers at most one JWKS refetch per issuer per this many
   * seconds, so a client spraying random key ids cannot make us hammer the issuer. @default 30
   */
  readonly unknownKeyRefetchSeconds?: number;
  /**
   * How many verified token signatures to remember (per key set; claims are re-checked on every
   * use). 0 turns the cache off. @default 4096
   */
  readonly verifiedTokenCacheSize?: number;
  /** Timeout for one discovery or JWKS request. @default 5000 */
  readonly fetchTimeoutMs?: number;
}

/** One trusted issuer, ready to verify against. */
interface TrustedIssuer {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly string[];
  readonly groupsClaim: string;
  readonly nameClaim: string;
  readonly clockSkewSeconds: number;
  readonly kind: Principal['kind'];
  readonly subjectRules?: readonly CompiledSubjectRule[];
  readonly keys: KeySource;
}

/** HMAC algorithms would let anyone holding the (public) verification key mint tokens. */
const FORBIDDEN_ALGORITHM = /^(none|HS\d+)$/i;

/**
 * Verifies OIDC JWTs from the configured issuers and maps them to a Principal.
 *
 * The token's unverified `iss` only picks which issuer's keys and rules to use; the signature is
 * then verified with that issuer's keys and every claim is checked on the verified payload.
 * Every failure is a GatehouseError with a stable GH_ERR_TOKEN_* code (or
 * GH_ERR_ISSUER_UNAVAILABLE when the issuer's keys cannot be fetched: no keys, no entry).
 */
export interface IssuerWarmUpResult {
  readonly issuer: string;
  readonly ok: boolean;
  /** The GatehouseError code when the issuer's keys could not be fetched. */
  readonly code?: string;
}

export interface GatewayIdentityVerifier extends IdentityVerifier {
  /**
   * Fetches every issuer's keys now, so a misconfigured or unreachable issuer shows at start
   * rather than on the first request. Never throws: the result says which issuers failed
   * (they keep failing closed, and are retried on the next token).
   */
  warmUp(): Promise<IssuerWarmUpResult[]>;
  close(): void;
}

export function createIdentityVerifier(options: IdentityVerifierOptions): GatewayIdentityVerifier {
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 5000;
  const minRefetchSeconds = options.unknownKeyRefetchSeconds ?? 30;

  const trusted = new Map<string, TrustedIssuer>();
  const add = (entry: TrustedIssuer): void => {
    if (trusted.has(entry.issuer)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `issuer "${entry.name}" has the same "issuer" URL as another trusted issuer`, {
        details: { issuer: entry.name },
      });
    }
    trusted.set(entry.issuer, entry);
  };

  for (const config of options.issuers) {
    const forbidden = config.algorithms.filter((alg) => FORBIDDEN_ALGORITHM.test(alg));
    if (forbidden.length > 0) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `issuer "${config.name}" allows algorithms that are never accepted`, {
        details: { issuer: config.name, algorithms: forbidden },
      });
    }
    add({
      name: config.name,
      issuer: config.issuer,
      audiences: [...config.audiences],
      algorithms: [...config.algorithms],
      groupsClaim: config.groupsClaim,
      nameClaim: config.nameClaim,
      clockSkewSeconds: config.clockSkewSeconds,
      kind: config.kind,
      subjectRules: config.subjectRules?.map(compileSubjectRule),
      keys: new RemoteKeySource({
        issuer: config.issuer,
        issuerName: config.name,
        jwksUri: config.jwksUri,
        cacheSeconds: config.jwksCacheSeconds,
        minRefetchSeconds,
        fetch: fetchImpl,
        timeoutMs: fetchTimeoutMs,
        now,
        logger: options.logger,
      }),
    });
  }

  if (options.devIssuer !== undefined) {
    if (options.mode === 'production') {
      throw new GatehouseError('GH_ERR_DEV_ISSUER_IN_PRODUCTION', 'the local development issuer cannot be trusted in production mode');
    }
    const { publicJwk, issuer, audience } = options.devIssuer;
    if ('d' in publicJwk || 'k' in publicJwk) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the development issuer key given to the verifier must be a public key');
    }
    add({
      name: DEV_ISSUER_NAME,
      issuer,
      audiences: [audience],
      algorithms: [algorithmForJwk(publicJwk)],
      groupsClaim: 'groups',
      nameClaim: 'preferred_username',
      clockSkewSeconds: 60,
      kind: 'dev',
      keys: staticKeySource([publicJwk], now),
    });
  }

  let closed = false;

  const signatures = new VerifiedSignatureCache(options.verifiedTokenCacheSize ?? 4096);

  /**
   * The synchronous half of verify: the principal of a token whose signature this key set already
   * verified and whose times are valid now; undefined in every other case (call verify, which
   * also reports why). Never throws.
   */
  function verifyCached(token: string): Principal | undefined {
    if (closed) return undefined;
    const hit = signatures.get(token);
    if (hit === undefined) return undefined;
    const keys = hit.issuer.keys.peek?.();
    if (keys === undefined || hit.keys !== keys) return undefined;
    try {
      checkTokenTimes(hit.claims, Math.floor(now() / 1000), hit.issuer.clockSkewSeconds);
    } catch {
      return undefined;
    }
    return hit.principal;
  }

  async function verify(token: string): Promise<Principal> {
    if (closed) throw new GatehouseError('GH_ERR_SHUTTING_DOWN', 'the identity verifier is closed');
    // Agents send the same token on every request: its signature is checked once per key set.
    // Every claim (exp, nbf, audience, subject rules) is still checked on every request below.
    const hit = signatures.get(token);
    if (hit !== undefined && hit.keys === (await hit.issuer.keys.current())) {
      // Everything but time is a pure function of the (immutable) claims: only time is re-checked,
      // and the same frozen principal is returned, so per-principal caches downstream keep hitting.
      checkTokenTimes(hit.claims, Math.floor(now() / 1000), hit.issuer.clockSkewSeconds);
      return hit.principal;
    }
    const unverified = readUnverifiedToken(token);
    const issuer = routeToIssuer(unverified.payload);
    checkAlgorithm(unverified.header, issuer);
    const { claims, keys } = await verifySignature(token, issuer);
    const principal = toPrincipal(claims, token, issuer, Math.floor(now() / 1000));
    signatures.set(token, { issuer, keys, claims, principal });
    return principal;
  }

  function routeToIssuer(payload: JWTPayload): TrustedIssuer {
    if (typeof payload.iss !== 'string' || payload.iss === '') {
      throw new GatehouseError('GH_ERR_TOKEN_ISSUER', 'token has no "iss" claim');
    }
    const issuer = trusted.get(payload.iss);
    if (issuer === undefined) throw new GatehouseError('GH_ERR_TOKEN_ISSUER', 'token issuer is not a trusted issuer');
    return issuer;
  }

  async function warmUp(): Promise<IssuerWarmUpResult[]> {
    return Promise.all(
      [...trusted.values()].map(async (entry): Promise<IssuerWarmUpResult> => {
        try {
          await entry.keys.current();
          return { issuer: entry.name, ok: true };
        } catch (error) {
          const code = error instanceof GatehouseError ? error.code : 'GH_ERR_ISSUER_UNAVAILABLE';
          options.logger?.warn({ issuer: entry.name, code }, 'could not fetch the keys of a trusted issuer; its tokens are refused until it answers');
          return { issuer: entry.name, ok: false, code };
        }
      }),
    );
  }

  /** As checkTokenTimes's exp check (same clock, same skew), for a principal already mapped. */
  function expired(principal: Principal): boolean {
    if (principal.expiresAt === undefined) return false;
    const skew = trusted.get(principal.issuer)?.clockSkewSeconds ?? 0;
    return Math.floor(now() / 1000) - skew >= principal.expiresAt;
  }

  return {
    verify,
    verifyCached,
    expired,
    warmUp,
    close() {
      closed = true;
    },
  };
}

function checkAlgorithm(header: ProtectedHeaderParameters, issuer: TrustedIssuer): void {
  const { alg } = header;
  if (typeof alg !== 'string' || alg === '') {
    throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'token header has no "alg"');
  }
  if (alg.toLowerCase() === 'none') {
    throw new GatehouseError('GH_ERR_TOKEN_ALGORITHM', 'unsigned tokens (alg "none") are refused');
  }
  if (/^HS\d+$/i.test(alg)) {
    throw new GatehouseError('GH_ERR_TOKEN_ALGORITHM', 'HMAC-signed tokens are refused; issuers must sign with an asymmetric key');
  }
  if (!issuer.algorithms.includes(alg)) {
    throw new GatehouseError('GH_ERR_TOKEN_ALGORITHM', `token algorithm is not in the allow-list of issuer "${issuer.name}"`, {
      details: { issuer: issuer.name, allowed: issuer.algorithms },
    });
  }
}

/** jose error code → our code, for failures during signature verification. */
const JOSE_ERRORS: Readonly<Record<string, [GatehouseError['code'], string]>> = {
  ERR_JWS_INVALID: ['GH_ERR_TOKEN_MALFORMED', 'token is not a valid JWS'],
  ERR_JOSE_ALG_NOT_ALLOWED: ['GH_ERR_TOKEN_ALGORITHM', 'token algorithm is not allowed'],
  ERR_JOSE_NOT_SUPPORTED: ['GH_ERR_TOKEN_ALGORITHM', 'token algorithm is not supported'],
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: ['GH_ERR_TOKEN_SIGNATURE', 'token signature is invalid'],
  ERR_JWKS_NO_MATCHING_KEY: ['GH_ERR_TOKEN_KEY_UNKNOWN', 'token is signed with a key the issuer does not publish'],
};

function joseCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;
}

function toTokenError(error: unknown, issuer: TrustedIssuer): GatehouseError {
  if (error instanceof GatehouseError) return error;
  const [code, message] = JOSE_ERRORS[joseCode(error) ?? ''] ?? [
    'GH_ERR_TOKEN_SIGNATURE',
    'token signature could not be verified',
  ];
  return new GatehouseError(code, message, { details: { issuer: issuer.name }, cause: error });
}

/**
 * Verifies the signature with the issuer's current keys; on an unknown `kid` refetches the
 * keys once (subject to the rate limit) and tries again. Returns the verified claims.
 */
async function verifySignature(token: string, issuer: TrustedIssuer): Promise<{ claims: JWTPayload; keys: KeySetSnapshot }> {
  let keys = await issuer.keys.current();
  let payload: Uint8Array;
  try {
    payload = await verifyWith(token, keys.resolve, issuer.algorithms);
  } catch (error) {
    if (joseCode(error) !== 'ERR_JWKS_NO_MATCHING_KEY') throw toTokenError(error, issuer);
    const refreshed = await issuer.keys.refreshForUnknownKey();
    if (refreshed === null) throw toTokenError(error, issuer);
    keys = refreshed;
    try {
      payload = await verifyWith(token, keys.resolve, issuer.algorithms);
    } catch (retryError) {
      throw toTokenError(retryError, issuer);
    }
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (cause) {
    throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'token payload is not JSON', { cause });
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new GatehouseError('GH_ERR_TOKEN_MALFORMED', 'token payload is not a JSON object');
  }
  return { claims: claims as JWTPayload, keys };
}

/**
 * Tokens whose signature verified, bound to the exact key-set snapshot that verified them: when
 * the issuer's keys are refreshed (rotation, a removed key), the snapshot changes and the token is
 * verified again. Bounded (oldest evicted first); large tokens are not kept.
 */
interface VerifiedToken {
  readonly issuer: TrustedIssuer;
  readonly keys: KeySetSnapshot;
  readonly claims: JWTPayload;
  readonly principal: Principal;
}

class VerifiedSignatureCache {
  private readonly entries = new Map<string, VerifiedToken>();
  constructor(private readonly max: number) {}

  get(token: string): VerifiedToken | undefined {
    return this.entries.get(token);
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.max <= 0 || token.length > 8192) return;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, entry);
  }
}

/**
 * When the token names no `kid` and several keys fit, jose hands back the candidates to try in
 * turn (its documented pattern); the first that verifies wins.
 */
async function verifyWith(token: string, resolve: KeyResolver, algorithms: readonly string[]): Promise<Uint8Array> {
  const verifyOptions = { algorithms: [...algorithms] };
  try {
    return (await compactVerify(token, resolve, verifyOptions)).payload;
  } catch (error) {
    if (joseCode(error) !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    let last: unknown = new GatehouseError('GH_ERR_TOKEN_SIGNATURE', 'token signature is invalid');
    for await (const key of error as AsyncIterable<CryptoKey>) {
      try {
        return (await compactVerify(token, key, verifyOptions)).payload;
      } catch (candidateError) {
        if (joseCode(candidateError) !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw candidateError;
        last = candidateError;
      }
    }
    throw last;
  }
}

function toPrincipal(claims: JWTPayload, token: string, issuer: TrustedIssuer, nowSeconds: number): Principal {
  if (claims.iss !== issuer.issuer) {
    throw new GatehouseError('GH_ERR_TOKEN_ISSUER', 'token issuer changed between routing and verification');
  }
  checkTokenTimes(claims, nowSeconds, issuer.clockSkewSeconds);
  checkAudience(claims, issuer.audiences);
  const subject = requireSubject(claims);
  const groups = readGroups(claims, issuer.groupsClaim);
  if (issuer.subjectRules !== undefined) {
    const granted = groupsFromSubjectRules(issuer.subjectRules, claims);
    if (granted === undefined) {
      throw new GatehouseError('GH_ERR_TOKEN_SUBJECT_RULE', `token subject matches none of the subject rules of issuer "${issuer.name}"`, {
        details: { issuer: issuer.name },
      });
    }
    groups.push(...granted);
  }
  // Frozen: one principal object may serve every request made with the same token.
  return Object.freeze({
    issuer: issuer.issuer,
    issuerName: issuer.name,
    subject,
    name: readDisplayName(claims, issuer.nameClaim, subject),
    groups: Object.freeze(uniqueInOrder(groups)),
    kind: issuer.kind,
    expiresAt: claims.exp,
    tokenId: tokenIdOf(claims, token),
  });
}
