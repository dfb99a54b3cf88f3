import { createHash } from 'node:crypto';
import { Storage, type Bucket, type StorageOptions } from '@google-cloud/storage';
import { GatehouseError } from '../../../errors';
import { Retry, type RetryOptions } from '../retry';
import { assertValidKey, type LogSink } from '../sink';
import { classifyGcsError, REASON_TEXT, type GcsFailure } from './gcs-errors';

export interface GcsLogSinkOptions extends RetryOptions {
  readonly bucket: string;
  /** Object name prefix: `''` or `a/b/` (ends with `/`). @default '' */
  readonly prefix?: string;
  /**
   * Another JSON API endpoint (tests, Private Service Connect). Requests to a custom endpoint carry
   * no credentials unless `authenticateCustomEndpoint` is set.
   * @default https://storage.googleapis.com (with Application Default Credentials: on Cloud Run, the service account)
   */
  readonly apiEndpoint?: string;
  /** @default false */
  readonly authenticateCustomEndpoint?: boolean;
  /** Project id, when ADC cannot tell it. @default from ADC */
  readonly projectId?: string;
  /** Per attempt: time without a response. @default 15000 */
  readonly requestTimeoutMs?: number;
  /** @default 1000 */
  readonly listPageSize?: number;
}

const PREFIX = /^([A-Za-z0-9._-]+\/)*$/;
const LIST_PREFIX = /^[A-Za-z0-9._\/-]*$/;

/**
 * A log sink on a Cloud Storage bucket (meant for one with a locked retention policy). Each `put`
 * is one single-request (multipart) upload: atomic, with `ifGenerationMatch=0` so Cloud Storage
 * refuses to replace an object (412 → reason `exists`), and the object's MD5 in its metadata,
 * which Cloud Storage checks before storing. No `append`: one object per flush.
 *
 * Transient failures are retried a bounded number of times with jittered backoff (the library's
 * own retries are off); anything else rejects with GH_ERR_RECORDING_FAILED whose details carry
 * `{ sink: 'gcs', op, key, reason, attempts }`.
 */
export class GcsLogSink implements LogSink {
  readonly name = 'gcs';
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;
  private readonly retry: Retry;
  private readonly listPageSize: number;
  private readonly requestTimeoutMs: number;

  constructor(options: GcsLogSinkOptions) {
    const prefix = options.prefix ?? '';
    if (!PREFIX.test(prefix) || prefix.split('/').some((p) => p === '.' || p === '..')) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `GCS log sink prefix must be empty or end with "/" and use only [A-Za-z0-9._-] segments, got ${JSON.stringify(prefix)}`);
    }
    if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `GCS log sink bucket must be 3-63 lowercase letters, digits, ".", "-" and "_", got ${JSON.stringify(options.bucket)}`);
    }
    if (options.apiEndpoint !== undefined) {
      const url = new URL(options.apiEndpoint);
      if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
        throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'GCS log sink apiEndpoint must use https (plain http only for a loopback emulator)');
      }
    }
    this.bucketName = options.bucket;
    this.prefix = prefix;
    this.retry = new Retry(options);
    this.listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15000;
    const storageOptions: StorageOptions = {
      retryOptions: { autoRetry: false, maxRetries: 0 },
      ...(options.projectId !== undefined ? { projectId: options.projectId } : {}),
      ...(options.apiEndpoint !== undefined
        ? { apiEndpoint: options.apiEndpoint, useAuthWithCustomEndpoint: options.authenticateCustomEndpoint ?? false }
        : {}),
    };
    this.bucket = new Storage(storageOptions).bucket(options.bucket);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.check(key, 'put');
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const md5 = createHash('md5').update(body).digest('base64');
    const file = this.bucket.file(this.prefix + key);
    let mayHaveLanded = false;
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        await file.save(body, {
          resumable: false,
          validation: false,
          preconditionOpts: { ifGenerationMatch: 0 },
          metadata: { contentType: 'application/octet-stream', md5Hash: md5 },
          timeout: this.requestTimeoutMs,
        });
        return;
      } catch (e) {
        const f = classifyGcsError(e);
        if (f.reason === 'exists' && mayHaveLanded && (await this.holds(key, body))) return;
        if (!f.transient || attempt >= this.retry.maxAttempts) throw this.failure(e, f, 'put', key, attempt);
        if (f.reason === 'unreachable' || f.reason === 'timeout' || f.reason === 'server') mayHaveLanded = true;
        await this.retry.pause(attempt);
      }
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check(key, 'get');
    const file = this.bucket.file(this.prefix + key);
    return this.withRetries('get', key, async () => {
      try {
        // validation off: the chain verifies content; the MD5 was checked when the object was stored.
        const [data] = await file.download({ validation: false });
        return data;
      } catch (e) {
        if (classifyGcsError(e).reason === 'not-found') return undefined;
        throw e;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    if (!LIST_PREFIX.test(prefix) || prefix.split('/').some((p) => p === '..' || p === '.')) {
      throw this.invalid('list', prefix, `invalid list prefix: ${JSON.stringify(prefix)}`);
    }
    const keys: string[] = [];
    let pageToken: string | undefined;
    do {
      const [files, next] = await this.withRetries('list', prefix, () =>
        this.bucket.getFiles({ prefix: this.prefix + prefix, autoPaginate: false, maxResults: this.listPageSize, ...(pageToken ? { pageToken } : {}) }),
      );
      for (const f of files) if (f.name.startsWith(this.prefix)) keys.push(f.name.slice(this.prefix.length));
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
    } while (pageToken !== undefined);
    return keys.sort();
  }

  private async holds(key: string, body: Buffer): Promise<boolean> {
    try {
      const existing = await this.get(key);
      return existing !== undefined && existing.equals(body);
    } catch {
      return false;
    }
  }

  private withRetries<T>(op: string, key: string, call: () => Promise<T>): Promise<T> {
    return this.retry.run(call, classifyGcsError, (e, f, attempts) => this.failure(e, f, op, key, attempts));
  }

  private check(key: string, op: string): void {
    try {
      assertValidKey(key);
    } catch (e) {
      throw this.invalid(op, key, (e as Error).message);
    }
  }

  private invalid(op: string, key: string, message: string): GatehouseError {
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink gcs: ${message}`, { details: { sink: 'gcs', op, reason: 'invalid-key', key } });
  }

  private failure(e: unknown, f: GcsFailure, op: string, key: string, attempts: number): GatehouseError {
    const details: Record<string, unknown> = { sink: 'gcs', op, key, reason: f.reason, code: f.code, attempts, bucket: this.bucketName };
    if (f.status !== undefined) details.status = f.status;
    const after = attempts > 1 ? ` after ${attempts} attempts` : '';
    const what = `${REASON_TEXT[f.reason] ?? 'error'} (${f.code}${f.status !== undefined ? `, HTTP ${f.status}` : ''})`;
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink gcs cannot ${op} ${this.prefix}${key} in bucket ${this.bucketName}: ${what}${after}`, { details, cause: e });
  }
}
