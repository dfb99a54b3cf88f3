import { GatehouseError, isGatehouseError } from '../errors';
import type { SecretProvider } from '../pipeline/types';
import { envSchemeProvider } from './env-provider';
import { fileSchemeProvider } from './file-provider';
import { parseSecretReference, secretUnavailable } from './reference';
import type { SchemeProvider } from './scheme-provider';

export interface SecretStoreOptions {
  readonly mode: 'development' | 'production';
  /**
   * Providers by scheme, added to (or replacing) the built-in `env` and `file`; this is where the
   * cloud kits plug in `aws-sm`, `gcp-sm` and `azure-kv`.
   */
  readonly providers?: Readonly<Record<string, SchemeProvider>>;
  /** How long a value is served from cache when its provider sets no lifetime. @default 300000 (5 min) */
  readonly cacheTtlMs?: number;
  /** Milliseconds since an epoch; injected by tests. @default Date.now */
  readonly clock?: () => number;
  /** Environment for `env:` references. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Folder relative `file:` paths resolve against (e.g. the config file's). @default process.cwd() */
  readonly baseDir?: string;
  /** Accept world-readable `file:` secrets in production mode. @default false */
  readonly allowWorldReadableFiles?: boolean;
  readonly logger?: { warn(obj: object, msg?: string): void };
}

export interface SecretStore extends SecretProvider {
  /** Resolves a reference; throws GH_ERR_SECRET_UNAVAILABLE naming the reference, never the value. */
  get(ref: string): Promise<string>;
  /** Checks a reference's form and scheme without fetching it (config validation at start). */
  check(ref: string): void;
  /** Registered schemes, sorted. */
  readonly schemes: readonly string[];
  /** Drops one cached value, or all of them. */
  invalidate(ref?: string): void;
}

export const DEFAULT_SECRET_CACHE_TTL_MS = 5 * 60 * 1000;

interface CacheEntry {
  readonly value: string;
  readonly version: string | undefined;
  readonly fetchedAt: number;
}

/**
 * The gateway's secret resolver: a registry of scheme providers behind one cache. A value is kept
 * for its provider's lifetime (or the default) and, where the provider can tell cheaply (file
 * mtimes), re-fetched as soon as it changes. A failed fetch is never papered over with a stale
 * value: the caller gets GH_ERR_SECRET_UNAVAILABLE and the operation does not go through.
 */
export function createSecretProvider(options: SecretStoreOptions): SecretStore {
  const registry = new Map<string, SchemeProvider>([
    ['env', envSchemeProvider(options.env)],
    [
      'file',
      fileSchemeProvider({
        mode: options.mode,
        baseDir: options.baseDir,
        allowWorldReadable: options.allowWorldReadableFiles,
        logger: options.logger,
      }),
    ],
  ]);
  for (const [scheme, provider] of Object.entries(options.providers ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(scheme)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `"${scheme}" is not a valid secret scheme name`);
    }
    registry.set(scheme, provider);
  }
  const clock = options.clock ?? Date.now;
  const defaultTtl = options.cacheTtlMs ?? DEFAULT_SECRET_CACHE_TTL_MS;
  const cache = new Map<string, CacheEntry>();
  const inFlight = new Map<string, Promise<string>>();

  // A reference resolves to the same provider for the store's life (the registry is fixed above),
  // and `peek` runs on every proxied request: parse each one once.
  const resolved = new Map<string, { provider: SchemeProvider; scheme: string; name: string }>();
  function providerFor(ref: string): { provider: SchemeProvider; scheme: string; name: string } {
    const known = resolved.get(ref);
    if (known !== undefined) return known;
    const { scheme, name } = parseSecretReference(ref);
    const provider = registry.get(scheme);
    if (provider === undefined) {
      throw secretUnavailable(ref, `no provider for scheme "${scheme}" (known: ${[...registry.keys()].sort().join(', ')})`);
    }
    const entry = { provider, scheme, name };
    // Bounded: references come from configuration, not from requests.
    if (resolved.size < 4096) resolved.set(ref, entry);
    return entry;
  }

  async function fetchAndCache(ref: string, scheme: string, name: string, provider: SchemeProvider): Promise<string> {
    try {
      const fetched = await provider.fetch(name, ref);
      if (typeof fetched?.value !== 'string') throw secretUnavailable(ref, `the ${scheme} provider returned no value`);
      cache.set(ref, { value: fetched.value, version: fetched.version, fetchedAt: clock() });
      return fetched.value;
    } catch (e) {
      cache.delete(ref);
      if (isGatehouseError(e, 'GH_ERR_SECRET_UNAVAILABLE')) throw e;
      // A foreign provider's message is not ours to vouch for: keep it as the cause, out of the text.
      const kind = describeFailure(e);
      throw secretUnavailable(ref, `the ${scheme} provider failed (${kind})`, e);
    }
  }

  async function get(ref: string): Promise<string> {
    const { provider, scheme, name } = providerFor(ref);
    const ttl = provider.cacheTtlMs ?? defaultTtl;
    const entry = cache.get(ref);
    if (entry !== undefined && ttl > 0 && clock() - entry.fetchedAt < ttl) {
      if (provider.isCurrent === undefined || (await provider.isCurrent(name, entry.version))) return entry.value;
    }
    const pending = inFlight.get(ref);
    if (pending !== undefined) return pending;
    const fetching = fetchAndCache(ref, scheme, name, provider).finally(() => inFlight.delete(ref));
    inFlight.set(ref, fetching);
    return fetching;
  }

  function peek(ref: string): string | undefined {
    const { provider, name } = providerFor(ref);
    if (provider.fetchSync !== undefined) return provider.fetchSync(name, ref).value;
    const ttl = provider.cacheTtlMs ?? defaultTtl;
    const entry = cache.get(ref);
    if (entry !== undefined && ttl > 0 && provider.isCurrent === undefined && clock() - entry.fetchedAt < ttl) return entry.value;
    return undefined;
  }

  return {
    get,
    peek,
    check: (ref) => void providerFor(ref),
    get schemes() {
      return [...registry.keys()].sort();
    },
    invalidate(ref) {
      if (ref === undefined) cache.clear();
      else cache.delete(ref);
    },
  };
}

/** A failure's code or class name (never its message); duck-typed because errors may cross realms. */
function describeFailure(e: unknown): string {
  if (typeof e !== 'object' || e === null) return typeof e;
  const record = e as { code?: unknown; name?: unknown };
  if (typeof record.code === 'string' && record.code !== '') return record.code;
  return typeof record.name === 'string' ? record.name : 'error';
}
