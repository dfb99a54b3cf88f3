import { createLocalJWKSet } from 'jose';
import type { JSONWebKeySet, JWK } from 'jose';
import { GatehouseError } from '../errors';
import { discoverJwksUri, fetchIssuerDocument } from './issuer-documents';
import type { DocumentFetchOptions } from './issuer-documents';
import type { IdentityLogger } from './logger';

/** Resolves the verification key for a token header (jose's `createLocalJWKSet` shape). */
export type KeyResolver = ReturnType<typeof createLocalJWKSet>;

export interface KeySetSnapshot {
  readonly resolve: KeyResolver;
  /** `now()` when the set was fetched (ms). */
  readonly fetchedAt: number;
}

/** Where one issuer's verification keys come from. */
export interface KeySource {
  /** The key set to verify with now. Throws GH_ERR_ISSUER_UNAVAILABLE when it cannot be had. */
  current(): Promise<KeySetSnapshot>;
  /**
   * The key set when it can be used now without any fetch (fresh, no refresh due); undefined
   * otherwise (call current). Lets a cached token be checked without a promise.
   */
  peek?(): KeySetSnapshot | undefined;
  /**
   * Called when a token names a key the current set lacks. Refetches unless a fetch happened
   * recently (rate limit); returns the new set, or `null` when no refetch was allowed.
   */
  refreshForUnknownKey(): Promise<KeySetSnapshot | null>;
}

/** A fixed key set (the local development issuer): nothing to fetch, nothing to refresh. */
export function staticKeySource(keys: readonly JWK[], now: () => number): KeySource {
  const snapshot: KeySetSnapshot = { resolve: createLocalJWKSet({ keys: [...keys] }), fetchedAt: now() };
  return {
    current: async () => snapshot,
    peek: () => snapshot,
    refreshForUnknownKey: async () => null,
  };
}

export interface RemoteKeySourceOptions extends DocumentFetchOptions {
  readonly issuer: string;
  readonly issuerName: string;
  /** Skips discovery when set. */
  readonly jwksUri?: string;
  /** After this long the set must be refetched before use (fail closed if that fails). */
  readonly cacheSeconds: number;
  /** At most one refetch for unknown `kid`s per this many seconds. */
  readonly minRefetchSeconds: number;
  readonly now: () => number;
  readonly logger?: IdentityLogger;
}

/**
 * An issuer's JWKS, fetched through discovery (or a configured `jwksUri`) and cached.
 *
 * Freshness: past 80 % of `cacheSeconds` a request triggers a refetch in the background and
 * keeps using the cached set; past `cacheSeconds` the set is no longer trusted and a request
 * waits for a refetch, so a key the issuer removed stops verifying within `cacheSeconds`.
 * Concurrent callers share one in-flight fetch.
 */
export class RemoteKeySource implements KeySource {
  private snapshot: KeySetSnapshot | undefined;
  private inflight: Promise<KeySetSnapshot> | undefined;
  private jwksUri: string | undefined;
  /** Start of the last fetch attempt, successful or not (ms); drives the unknown-kid rate limit. */
  private lastAttemptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RemoteKeySourceOptions) {
    this.jwksUri = options.jwksUri;
  }

  async current(): Promise<KeySetSnapshot> {
    const now = this.options.now();
    const snapshot = this.snapshot;
    const lifetimeMs = this.options.cacheSeconds * 1000;
    if (snapshot === undefined || now - snapshot.fetchedAt >= lifetimeMs || now < snapshot.fetchedAt) {
      return this.fetch();
    }
    if (now - snapshot.fetchedAt >= lifetimeMs * 0.8 && this.inflight === undefined && this.mayRefetch(now)) {
      this.fetch().catch((error: unknown) => {
        this.options.logger?.warn(
          { issuer: this.options.issuerName, code: error instanceof GatehouseError ? error.code : undefined },
          'background JWKS refresh failed; the cached keys stay in use until they expire',
        );
      });
    }
    return snapshot;
  }

  peek(): KeySetSnapshot | undefined {
    const snapshot = this.snapshot;
    if (snapshot === undefined) return undefined;
    const age = this.options.now() - snapshot.fetchedAt;
    // Within the first 80 % of its lifetime: current() would return it without starting anything.
    return age >= 0 && age < this.options.cacheSeconds * 1000 * 0.8 ? snapshot : undefined;
  }

  async refreshForUnknownKey(): Promise<KeySetSnapshot | null> {
    if (this.inflight !== undefined) return this.inflight;
    if (!this.mayRefetch(this.options.now())) {
      this.options.logger?.debug({ issuer: this.options.issuerName }, 'unknown key id; JWKS refetch skipped (rate limited)');
      return null;
    }
    return this.fetch();
  }

  private mayRefetch(now: number): boolean {
    return now - this.lastAttemptAt >= this.options.minRefetchSeconds * 1000 || now < this.lastAttemptAt;
  }

  private fetch(): Promise<KeySetSnapshot> {
    if (this.inflight !== undefined) return this.inflight;
    this.lastAttemptAt = this.options.now();
    const attempt = this.load().finally(() => {
      this.inflight = undefined;
    });
    this.inflight = attempt;
    return attempt;
  }

  private async load(): Promise<KeySetSnapshot> {
    const { issuer, issuerName, logger } = this.options;
    const configured = this.options.jwksUri;
    const jwksUri = this.jwksUri ?? (await discoverJwksUri(issuer, issuerName, this.options));
    let doc: Record<string, unknown>;
    try {
      doc = await fetchIssuerDocument(jwksUri, 'JWKS', issuerName, this.options);
    } catch (error) {
      // The issuer may have moved its keys: rediscover next time rather than pin a dead URL.
      if (configured === undefined) this.jwksUri = undefined;
      throw error;
    }
    let resolve: KeyResolver;
    try {
      resolve = createLocalJWKSet(doc as unknown as JSONWebKeySet);
    } catch (cause) {
      throw new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', `issuer "${issuerName}" served a malformed JWKS`, {
        details: { issuer: issuerName },
        cause,
      });
    }
    this.jwksUri = jwksUri;
    const snapshot: KeySetSnapshot = { resolve, fetchedAt: this.options.now() };
    this.snapshot = snapshot;
    logger?.debug({ issuer: issuerName, keys: (doc.keys as unknown[]).length }, 'JWKS fetched');
    return snapshot;
  }
}
