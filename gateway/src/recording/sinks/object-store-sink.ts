import { GatehouseError } from '../../errors';
import { Retry, type RetryOptions } from './retry';
import { assertValidKey, type LogSink } from './sink';

/** How one store's client failed: the LogSink contract's `reason`, and whether to try again. */
export interface StoreFailure {
  /** `exists`, `permission`, `not-found`, `unreachable`, `timeout`, `throttled`, `server`, `io`, ... */
  readonly reason: string;
  /** Another attempt may succeed (network trouble, throttling, 5xx, conflicting conditional writes). */
  readonly transient: boolean;
  /** HTTP status when the store answered at all. */
  readonly status?: number;
  /** The store's error code or the network error code. */
  readonly code: string;
}

/** What tells one object store from another: its name, where objects live, its error vocabulary. */
export interface ObjectStore {
  /** The sink's `name` (`s3`, `gcs`, `azure-blob`): in errors' text and details. */
  readonly sink: string;
  /** As named in configuration errors: `S3`, `GCS`, `Azure Blob`. */
  readonly label: string;
  /** Where the objects live, e.g. `{ field: 'bucket', value: 'audit-log' }`: in failures' text and details. */
  readonly location: { readonly field: 'bucket' | 'container'; readonly value: string };
  readonly classify: (e: unknown) => StoreFailure;
  /** A readable phrase per `reason`. */
  readonly reasonText: Readonly<Record<string, string>>;
}

/** One page of a listing: full object names, and the token of the next page if there is one. */
export interface ListPage {
  readonly names: readonly string[];
  readonly next?: string;
}

const PREFIX = /^([A-Za-z0-9._-]+\/)*$/;
const LIST_PREFIX = /^[A-Za-z0-9._\/-]*$/;

/** Failures after which a create may have been stored although its answer was lost. */
const MAY_HAVE_LANDED = new Set(['unreachable', 'timeout', 'server']);

/**
 * What the object-store sinks (S3, Cloud Storage, Azure Blob) share, so they behave alike: key and
 * prefix checks, bounded retries, the failure vocabulary and its text, listing by pages, and the
 * one subtle rule of a retried create. Each store implements three calls against its own client:
 * create-if-absent, read, list one page.
 *
 * A retried create: a create whose answer was lost (connection reset, timeout, 5xx) may still have
 * been stored, and its retry is then refused as `exists`. The sink reads the object back and
 * accepts it only when it holds exactly the bytes it was writing; anything else is a real
 * `exists` and fails closed (log objects are never overwritten).
 */
export abstract class ObjectStoreSink implements LogSink {
  readonly name: string;
  /** `''` or `a/b/` (ends with `/`): prepended to every key. */
  readonly prefix: string;
  protected readonly retry: Retry;

  protected constructor(
    private readonly store: ObjectStore,
    prefix: string | undefined,
    retryOptions: RetryOptions,
  ) {
    const p = prefix ?? '';
    if (!PREFIX.test(p) || p.split('/').some((s) => s === '.' || s === '..')) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `${store.label} log sink prefix must be empty or end with "/" and use only [A-Za-z0-9._-] segments, got ${JSON.stringify(p)}`);
    }
    this.name = store.sink;
    this.prefix = p;
    this.retry = new Retry(retryOptions);
  }

  /** Creates the object `name` with `body`, refusing (as the store's `exists` failure) if it exists. */
  protected abstract createObject(name: string, body: Buffer): Promise<void>;
  /** The object's bytes, or undefined when the store says it does not exist. */
  protected abstract readObject(name: string): Promise<Buffer | undefined>;
  /** One page of the names under `prefix`, starting at `token`. */
  protected abstract listPage(prefix: string, token: string | undefined): Promise<ListPage>;

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.check(key, 'put');
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let mayHaveLanded = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.createObject(this.prefix + key, body);
        return;
      } catch (e) {
        const f = this.store.classify(e);
        // An earlier attempt of this very put was stored but its answer was lost.
        if (f.reason === 'exists' && !f.transient && mayHaveLanded && (await this.holds(key, body))) return;
        if (!f.transient || attempt >= this.retry.maxAttempts) throw this.failure(e, f, 'put', key, attempt);
        if (MAY_HAVE_LANDED.has(f.reason)) mayHaveLanded = true;
        await this.retry.pause(attempt);
      }
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check(key, 'get');
    return this.withRetries('get', key, () => this.readObject(this.prefix + key));
  }

  async list(prefix: string): Promise<string[]> {
    if (!LIST_PREFIX.test(prefix) || prefix.split('/').some((p) => p === '..' || p === '.')) {
      throw this.invalid('list', prefix, `invalid list prefix: ${JSON.stringify(prefix)}`);
    }
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.withRetries('list', prefix, () => this.listPage(this.prefix + prefix, token));
      for (const name of page.names) if (name.startsWith(this.prefix)) keys.push(name.slice(this.prefix.length));
      token = page.next;
    } while (token !== undefined);
    // Stores order by UTF-8 bytes; keys are ASCII, but sort anyway: the contract is ours.
    return keys.sort();
  }

  /** A listing the store answered in a way that cannot be followed (e.g. truncated without a token). */
  protected brokenListing(prefix: string, message: string): GatehouseError {
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink ${this.name} cannot list ${prefix}: ${message}`, {
      details: { sink: this.name, op: 'list', key: prefix, reason: 'io' },
    });
  }

  /** True when `key` exists with exactly `body`. */
  private async holds(key: string, body: Buffer): Promise<boolean> {
    try {
      const existing = await this.get(key);
      return existing !== undefined && existing.equals(body);
    } catch {
      return false;
    }
  }

  private withRetries<T>(op: string, key: string, call: () => Promise<T>): Promise<T> {
    return this.retry.run(
      async () => {
        try {
          return await call();
        } catch (e) {
          // Already a sink failure (a listing that cannot be followed): not the store's to classify.
          if (e instanceof GatehouseError) throw new FinalFailure(e);
          throw e;
        }
      },
      (e) => (e instanceof FinalFailure ? FINAL : this.store.classify(e)),
      (e, f, attempts) => (e instanceof FinalFailure ? e.error : this.failure(e, f, op, key, attempts)),
    );
  }

  private check(key: string, op: string): void {
    try {
      assertValidKey(key);
    } catch (e) {
      throw this.invalid(op, key, (e as Error).message);
    }
  }

  private invalid(op: string, key: string, message: string): GatehouseError {
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink ${this.name}: ${message}`, { details: { sink: this.name, op, reason: 'invalid-key', key } });
  }

  private failure(e: unknown, f: StoreFailure, op: string, key: string, attempts: number): GatehouseError {
    const { field, value } = this.store.location;
    const details: Record<string, unknown> = { sink: this.name, op, key, reason: f.reason, code: f.code, attempts, [field]: value };
    if (f.status !== undefined) details.status = f.status;
    const after = attempts > 1 ? ` after ${attempts} attempts` : '';
    const what = `${this.store.reasonText[f.reason] ?? 'error'} (${f.code}${f.status !== undefined ? `, HTTP ${f.status}` : ''})`;
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink ${this.name} cannot ${op} ${this.prefix}${key} in ${field} ${value}: ${what}${after}`, { details, cause: e });
  }
}

/** Carries a sink failure through the retry loop untouched. */
class FinalFailure extends Error {
  constructor(readonly error: GatehouseError) {
    super(error.message);
  }
}
const FINAL: StoreFailure = { reason: 'io', transient: false, code: 'final' };
