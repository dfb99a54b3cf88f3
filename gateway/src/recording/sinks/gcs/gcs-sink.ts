import { createHash } from 'node:crypto';
import { Storage, type Bucket, type StorageOptions } from '@google-cloud/storage';
import { GatehouseError } from '../../../errors';
import { ObjectStoreSink, type ListPage } from '../object-store-sink';
import type { RetryOptions } from '../retry';
import { classifyGcsError, REASON_TEXT } from './gcs-errors';

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

/**
 * A log sink on a Cloud Storage bucket (meant for one with a locked retention policy). Each `put`
 * is one single-request (multipart) upload: atomic, with `ifGenerationMatch=0` so Cloud Storage
 * refuses to replace an object (412 → reason `exists`), and the object's MD5 in its metadata,
 * which Cloud Storage checks before storing. No `append`: one object per flush.
 *
 * Retries (the library's own are off), the failure vocabulary and the rule for a retried create
 * are shared with the other object stores (ObjectStoreSink); failures reject with
 * GH_ERR_RECORDING_FAILED whose details carry `{ sink: 'gcs', op, key, reason, attempts, bucket }`.
 */
export class GcsLogSink extends ObjectStoreSink {
  readonly bucketName: string;
  private readonly bucket: Bucket;
  private readonly listPageSize: number;
  private readonly requestTimeoutMs: number;

  constructor(options: GcsLogSinkOptions) {
    super({ sink: 'gcs', label: 'GCS', location: { field: 'bucket', value: options.bucket }, classify: classifyGcsError, reasonText: REASON_TEXT }, options.prefix, options);
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

  protected async createObject(name: string, body: Buffer): Promise<void> {
    await this.bucket.file(name).save(body, {
      resumable: false,
      validation: false,
      preconditionOpts: { ifGenerationMatch: 0 },
      metadata: { contentType: 'application/octet-stream', md5Hash: createHash('md5').update(body).digest('base64') },
      timeout: this.requestTimeoutMs,
    });
  }

  protected async readObject(name: string): Promise<Buffer | undefined> {
    try {
      // validation off: the chain verifies content; the MD5 was checked when the object was stored.
      const [data] = await this.bucket.file(name).download({ validation: false });
      return data;
    } catch (e) {
      if (classifyGcsError(e).reason === 'not-found') return undefined;
      throw e;
    }
  }

  protected async listPage(prefix: string, token: string | undefined): Promise<ListPage> {
    const [files, next] = await this.bucket.getFiles({ prefix, autoPaginate: false, maxResults: this.listPageSize, ...(token ? { pageToken: token } : {}) });
    return { names: files.map((f) => f.name), next: (next as { pageToken?: string } | null | undefined)?.pageToken || undefined };
  }
}
