import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { GatehouseError } from '../../../errors';
import { ObjectStoreSink, type ListPage } from '../object-store-sink';
import type { RetryOptions } from '../retry';
import { classifyS3Error, REASON_TEXT } from './s3-errors';

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

/**
 * A log sink on an S3 bucket (meant for one with Object Lock in compliance mode). Each `put` is
 * one PutObject: atomic, with `If-None-Match: *` so S3 refuses to replace an object (412 →
 * reason `exists`) and a SHA-256 checksum S3 verifies before storing (Object Lock requires a
 * checksum on writes). No `append`: an object store writes one object per flush.
 *
 * Retries, the failure vocabulary and the rule for a retried create are shared with the other
 * object stores (ObjectStoreSink); failures reject with GH_ERR_RECORDING_FAILED whose details
 * carry `{ sink: 's3', op, key, reason, attempts, bucket }`.
 */
export class S3LogSink extends ObjectStoreSink {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly listPageSize: number;

  constructor(options: S3LogSinkOptions) {
    super({ sink: 's3', label: 'S3', location: { field: 'bucket', value: options.bucket }, classify: classifyS3Error, reasonText: REASON_TEXT }, options.prefix, options);
    if (options.bucket.length === 0) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'S3 log sink bucket must not be empty');
    this.bucket = options.bucket;
    this.listPageSize = Math.min(1000, Math.max(1, options.listPageSize ?? 1000));
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      // Retries are ours: a retried conditional PUT needs care the SDK cannot know about (ObjectStoreSink.put).
      maxAttempts: 1,
      // We send our own SHA-256; no extra CRC trailer the server may not understand.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 3000, requestTimeout: options.requestTimeoutMs ?? 15000 },
    });
  }

  protected async createObject(name: string, body: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: name,
        Body: body,
        ContentLength: body.length,
        IfNoneMatch: '*',
        ChecksumAlgorithm: 'SHA256',
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
      }),
    );
  }

  protected async readObject(name: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
      if (!out.Body) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (e) {
      if (classifyS3Error(e).reason === 'not-found') return undefined;
      throw e;
    }
  }

  protected async listPage(prefix: string, token: string | undefined): Promise<ListPage> {
    const page = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: this.listPageSize, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
    );
    const next = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (page.IsTruncated && next === undefined) throw this.brokenListing(prefix.slice(this.prefix.length), 'truncated page without a continuation token');
    return { names: (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key])), next };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
