/**
 * Where the record is stored: a flat namespace of immutable objects, shaped after object stores
 * (S3, GCS, Azure Blob) so each store is one small adapter. Keys are `/`-separated paths of
 * `[A-Za-z0-9._-]` segments (see `assertValidKey`); listing returns keys in lexicographic order,
 * which the key layout (`recording/layout.ts`) makes chronological.
 *
 * Every failure to store surfaces as a GatehouseError GH_ERR_RECORDING_FAILED whose `details`
 * carry `{ sink, op, key, reason }` (`reason`: `exists`, `permission`, `no-space`, `io`, ...).
 */
export interface LogSink {
  /** Short name for logs and errors: `fs`, `s3`, ... */
  readonly name: string;

  /**
   * Creates an immutable object. Resolves only once it is durable (fs: data fdatasync'ed and the
   * directory entry synced; S3: PutObject acknowledged). Refuses to overwrite: an existing key
   * rejects with reason `exists` (S3: `If-None-Match: *`; GCS: `ifGenerationMatch=0`;
   * Azure: `If-None-Match: *`). Creation is all-or-nothing: a reader never sees a partial object.
   */
  put(key: string, bytes: Uint8Array): Promise<void>;

  /** The object's bytes, or `undefined` if there is no such key. */
  get(key: string): Promise<Buffer | undefined>;

  /** Every key starting with `prefix`, sorted lexicographically. */
  list(prefix: string): Promise<string[]>;

  /**
   * Optional durable append, for stores that can extend an object (fs; Azure append blobs).
   * The first append to a key creates it and refuses if it already exists (reason `exists`), so a
   * sink never appends to an object it did not start; later appends by the same sink instance
   * extend it. Resolves only once the bytes are durable. All-or-nothing: on failure the object is
   * left as it was before the call, or the error's details carry `torn: true` when that could not
   * be ensured.
   */
  append?(key: string, bytes: Uint8Array): Promise<void>;

  /** Ends appending to `key` (releases handles); the object is immutable afterwards. */
  sealAppend?(key: string): Promise<void>;

  /** Releases every resource (open handles, clients). */
  close?(): Promise<void>;
}

const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Throws a plain Error for keys a sink must never accept (traversal, empty or odd segments). */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.length > 1024) throw new Error(`invalid log key length: ${key.length}`);
  for (const part of key.split('/')) {
    if (!KEY_SEGMENT.test(part) || part === '.' || part === '..') throw new Error(`invalid log key: ${JSON.stringify(key)}`);
  }
}
