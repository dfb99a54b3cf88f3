/**
 * One secret backend, registered under the scheme of the references it resolves (`env`, `file`,
 * later `aws-sm`, `gcp-sm`, `azure-kv`). Callers only ever see SecretProvider.get(ref): adding a
 * backend means registering a SchemeProvider, nothing else.
 */
export interface SchemeProvider {
  /**
   * Fetches the current value of `name` (the reference without `scheme:`). Throws a GatehouseError
   * (GH_ERR_SECRET_UNAVAILABLE) whose message names the reference and never contains the value.
   */
  fetch(name: string, ref: string): Promise<FetchedSecret>;
  /**
   * Optional cheap check that a cached value is still current (a file's mtime, a version id), asked
   * on every get() while the value is cached. When absent, the cache lifetime alone decides.
   */
  isCurrent?(name: string, version: string | undefined): Promise<boolean>;
  /**
   * Optional synchronous read for backends that need no I/O (the process environment): lets a hot
   * path resolve without a promise. Same contract as fetch.
   */
  fetchSync?(name: string, ref: string): FetchedSecret;
  /** How long a fetched value may be served from cache; 0 fetches every time. Overrides the store default. */
  readonly cacheTtlMs?: number;
}

export interface FetchedSecret {
  readonly value: string;
  /** Identifies this version of the value for isCurrent (e.g. `mtime:size:inode`, a version id). */
  readonly version?: string;
}
