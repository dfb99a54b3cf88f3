import { createHash } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, type ContainerClient, type StorageSharedKeyCredential } from '@azure/storage-blob';
import { GatehouseError } from '../../../errors';
import { Retry, type RetryOptions } from '../retry';
import { assertValidKey, type LogSink } from '../sink';
import { classifyAzureError, REASON_TEXT, type AzureFailure } from './azure-errors';

export interface AzureBlobLogSinkOptions extends RetryOptions {
  /** The account's blob endpoint, e.g. `https://acct.blob.core.windows.net/` (Azurite: `http://127.0.0.1:10000/devstoreaccount1`). */
  readonly endpoint: string;
  readonly container: string;
  /** Blob name prefix: `''` or `a/b/` (ends with `/`). @default '' */
  readonly prefix?: string;
  /**
   * How the sink authenticates: a managed identity (`TokenCredential`, see `azureDefaultCredential`)
   * in production; a shared key only against an emulator (the kit disables shared keys).
   */
  readonly credential: TokenCredential | StorageSharedKeyCredential;
  /** Per attempt: time without a response. @default 15000 */
  readonly requestTimeoutMs?: number;
  /** @default 5000 */
  readonly listPageSize?: number;
}

const PREFIX = /^([A-Za-z0-9._-]+\/)*$/;
const LIST_PREFIX = /^[A-Za-z0-9._\/-]*$/;

/**
 * A log sink on an Azure Blob Storage container (meant for one under a locked, version-level
 * immutability policy). Each `put` is one Put Blob: atomic, with `If-None-Match: *` so the service
 * refuses to replace a blob (reason `exists`), and `x-ms-blob-content-md5`, which the service
 * checks against what it received before storing. No `append`: one blob per flush.
 *
 * Transient failures (network, timeouts, throttling, 5xx) are retried a bounded number of times
 * with jittered backoff (the SDK's own retries are off: a retried conditional write needs the
 * check in `put`); anything else rejects with GH_ERR_RECORDING_FAILED whose details carry
 * `{ sink: 'azure-blob', op, key, reason, attempts }`.
 */
export class AzureBlobLogSink implements LogSink {
  readonly name = 'azure-blob';
  readonly container: string;
  readonly prefix: string;
  private readonly client: ContainerClient;
  private readonly retry: Retry;
  private readonly listPageSize: number;
  private readonly requestTimeoutMs: number;

  constructor(options: AzureBlobLogSinkOptions) {
    const prefix = options.prefix ?? '';
    if (!PREFIX.test(prefix) || prefix.split('/').some((p) => p === '.' || p === '..')) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `Azure Blob log sink prefix must be empty or end with "/" and use only [A-Za-z0-9._-] segments, got ${JSON.stringify(prefix)}`);
    }
    if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(options.container)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `Azure Blob log sink container must be 3-63 lowercase letters, digits and single dashes, got ${JSON.stringify(options.container)}`);
    }
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `Azure Blob log sink endpoint is not a URL: ${JSON.stringify(options.endpoint)}`);
    }
    if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'Azure Blob log sink endpoint must use https (plain http only for a loopback emulator)');
    }
    this.container = options.container;
    this.prefix = prefix;
    this.retry = new Retry(options);
    this.listPageSize = Math.min(5000, Math.max(1, options.listPageSize ?? 5000));
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15000;
    const service = new BlobServiceClient(options.endpoint.replace(/\/$/, ''), options.credential, {
      retryOptions: { maxTries: 1, tryTimeoutInMs: this.requestTimeoutMs },
      userAgentOptions: { userAgentPrefix: 'gatehouse' },
    });
    this.client = service.getContainerClient(options.container);
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.check(key, 'put');
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const md5 = createHash('md5').update(body).digest();
    const blob = this.client.getBlockBlobClient(this.prefix + key);
    let mayHaveLanded = false;
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        await blob.upload(body, body.length, {
          conditions: { ifNoneMatch: '*' },
          blobHTTPHeaders: { blobContentMD5: md5, blobContentType: 'application/octet-stream' },
        });
        return;
      } catch (e) {
        const f = classifyAzureError(e);
        if (f.reason === 'exists' && mayHaveLanded && (await this.holds(key, body))) {
          // An earlier attempt of this very put was stored but its answer was lost.
          return;
        }
        if (!f.transient || attempt >= this.retry.maxAttempts) throw this.failure(e, f, 'put', key, attempt);
        if (f.reason === 'unreachable' || f.reason === 'timeout' || f.reason === 'server') mayHaveLanded = true;
        await this.retry.pause(attempt);
      }
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.check(key, 'get');
    const blob = this.client.getBlobClient(this.prefix + key);
    return this.withRetries('get', key, async () => {
      try {
        const res = await blob.download(0, undefined, { abortSignal: AbortSignal.timeout(this.requestTimeoutMs) });
        return await readAll(res.readableStreamBody);
      } catch (e) {
        if (classifyAzureError(e).reason === 'not-found') return undefined;
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
      const page = await this.withRetries('list', prefix, async () => {
        const pages = this.client.listBlobsFlat({ prefix: this.prefix + prefix }).byPage({ maxPageSize: this.listPageSize, continuationToken: token });
        const next = await pages.next();
        if (next.done) return { blobs: [] as string[], continuation: undefined };
        return { blobs: next.value.segment.blobItems.map((b) => b.name), continuation: next.value.continuationToken || undefined };
      });
      for (const name of page.blobs) {
        if (name.startsWith(this.prefix)) keys.push(name.slice(this.prefix.length));
      }
      token = page.continuation;
    } while (token !== undefined);
    return keys.sort();
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
    return this.retry.run(call, classifyAzureError, (e, f, attempts) => this.failure(e, f, op, key, attempts));
  }

  /** Full jitter: spreads the replicas' retries. */
  private check(key: string, op: string): void {
    try {
      assertValidKey(key);
    } catch (e) {
      throw this.invalid(op, key, (e as Error).message);
    }
  }

  private invalid(op: string, key: string, message: string): GatehouseError {
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink azure-blob: ${message}`, { details: { sink: 'azure-blob', op, reason: 'invalid-key', key } });
  }

  private failure(e: unknown, f: AzureFailure, op: string, key: string, attempts: number): GatehouseError {
    const details: Record<string, unknown> = { sink: 'azure-blob', op, key, reason: f.reason, code: f.code, attempts, container: this.container };
    if (f.status !== undefined) details.status = f.status;
    const after = attempts > 1 ? ` after ${attempts} attempts` : '';
    const what = `${REASON_TEXT[f.reason] ?? 'error'} (${f.code}${f.status !== undefined ? `, HTTP ${f.status}` : ''})`;
    return new GatehouseError('GH_ERR_RECORDING_FAILED', `log sink azure-blob cannot ${op} ${this.prefix}${key} in container ${this.container}: ${what}${after}`, { details, cause: e });
  }
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
