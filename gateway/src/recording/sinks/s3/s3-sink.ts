import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { GatehouseError } from '../../../errors';
import { Retry, type RetryOptions } from '../retry';
import { assertValidKey, type LogSink } from '../sink';
import { classifyS3Error, REASON_TEXT, type S3Failure } from './s3-errors';

export interface S3LogSinkOptions extends RetryOptions {
  readonly bucket: string;
  /** Key prefix every object is written under: `''` or `a/b/` (ends with `/`). @default '' */
  readonly prefix?: string;
  readonly region: string;
  /** Another S3-compatible endpoint (tests, S3 on Outposts, a VPC endpoint URL). @default the regional AWS endpoint */
  readonly endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. @default false */
  readonly forcePathStyle?: boolean;
  /** Static credentials, for tests only. @default the SDK's chain (ECS task role, environment, ...) */
  readonly credentials?: S3ClientConfig['credentials'];
  /** Per attempt: time to connect. @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** Per attempt: time without a response. @default 15000 */
  readonly requestTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). @default 1000 */
  readonly listPageSize?: number;
}

const PREFIX = /^([A-Za-z0-9._-]+\/)*$/;
const LIST_PREFIX = /^[A-Za-z0-9._\/-]*$/;

/**
 * A log sink on an S3 bucket (meant for one with Object Lock in compliance mode). Each `put` is
 * one PutObject: atomic, with `If-None-Match: *` so S3 refuses to replace an object (412 →
 * reason `exists`) and a SHA-256 checksum S3 verifies before storing (Object Lock requires a
 * checksum on writes). No `append`: an object store writes one object per flush.
 *
 * Transient failures (network, timeouts, throttling, 5xx) are retried a bounded number of times
 * with jittered backoff; anything else, or running out of attempts, rejects with
 * GH_ERR_RECORDING_FAILED whose details carry `{ sink: 's3', op, key, reason, attempts }`.
 */
export class S3LogSink implements LogSink {
  readonly name = 's3';
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly retry: Retry;
  private readonly listPageSize: number;

  constructor(options: S3LogSinkOptions) {
    const prefix = options.prefix ?? '';
    if (!PREFIX.test(prefix) || prefix.split('/').some((p) => p === '.' || p === '..')) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `S3 log sink prefix must be empty or end with "/" and use only [A-Za-z0-9._-] segments, got ${JSON.stringify(prefix)}`);
    }
    if (options.bucket.length === 0) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'S3 log sink bucket must not be empty');
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.retry = new Retry(options);
    this.listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      // Retries are ours: a retried conditional PUT needs care the SDK cannot know about (see put).
      maxAttempts: 1,
      // We send our own SHA-256; no extra CRC trailer the server may not understand.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 3000, requestTimeout: options.requestTimeoutMs ?? 15000 },
    });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.check(key, 'put');
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const sha256 = createHash('sha256').update(body).digest();
    let mayHaveLanded = false;
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            Body: body,
            ContentLength: body.length,
            IfNoneMatch: '*',
            ChecksumAlgorithm: 'SHA256',
            ChecksumSHA256: sha256.toString('base64'),
          }),
        );
        return;
      } catch (e) {
        const f = classifyS3Error(e);
        if (f.reason === 'exists' && !f.transient && mayHaveLanded && (await this.holds(key, sha256))) {
          // An earlier attempt of this very put was stored but its answer was lost.
          return;
        }
        if (!f.transient || attempt >= this.retry.maxAttempts) throw this.failure(e, f, 'put', key, attempt);
        // A request that timed out or lost its connection may still have been stored.
        if (f.reason === 'unreachable' || f.reason === 'timeout' || f.reason === 'server') mayHaveLanded = true;
        await this.retry.pause(attempt);
      }
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check(key, 'get');
    return this.withRetries('get', key, async () => {
      try {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
        if (!out.Body) return Buffer.alloc(0);
        return Buffer.from(await out.Body.transformToByteArray());
      } catch (e) {
        if (classifyS3Error(e).reason === 'not-found') return undefined;
        throw e;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    if (!LIST_PREFIX.test(prefix) || prefix.split('/').some((p) => p === '..' || p === '.')) {
      throw this.invalid('list', prefix, `invalid list prefix: ${JSON.stringify(prefix)}`);
    }
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.withRetries('list', prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            MaxKeys: this.listPageSize,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined && o.Key.startsWith(this.prefix)) keys.push(o.Key.slice(this.prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && token === undefined) {
        throw new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink s3 cannot list ${prefix}: truncated page without a continuation token`, {
          details: { sink: 's3', op: 'list', key: prefix, reason: 'io' },
        });
      }
    } while (token !== undefined);
    // S3 orders by UTF-8 bytes; keys are ASCII, but sort anyway: the contract is ours, not S3's.
    return keys.sort();
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** True when `key` exists with exactly the bytes whose SHA-256 is `sha256`. */
  private async holds(key: string, sha256: Buffer): Promise<boolean> {
    try {
      const existing = await this.get(key);
      return existing !== undefined && createHash('sha256').update(existing).digest().equals(sha256);
    } catch {
      return false;
    }
  }

  private withRetries<T>(op: string, key: string, call: () => Promise<T>): Promise<T> {
    return this.retry.run(call, classifyS3Error, (e, f, attempts) => this.failure(e, f, op, key, attempts));
  }

  private check(key: string, op: string): void {
    try {
      assertValidKey(key);
    } catch (e) {
      throw this.invalid(op, key, (e as Error).message);
    }
  }

  private invalid(op: string, key: string, message: string): GatehouseError {
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink s3: ${message}`, { details: { sink: 's3', op, reason: 'invalid-key', key } });
  }

  private failure(e: unknown, f: S3Failure, op: string, key: string, attempts: number): GatehouseError {
    const details: Record<string, unknown> = { sink: 's3', op, key, reason: f.reason, code: f.code, attempts, bucket: this.bucket };
    if (f.status !== undefined) details.status = f.status;
    const after = attempts > 1 ? ` after ${attempts} attempts` : '';
    const what = `${REASON_TEXT[f.reason] ?? 'error'} (${f.code}${f.status !== undefined ? `, HTTP ${f.status}` : ''})`;
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink s3 cannot ${op} ${this.prefix}${key} in bucket ${this.bucket}: ${what}${after}`, { details, cause: e });
  }
}
