import { createHash } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, type ContainerClient, type StorageSharedKeyCredential } from '@azure/storage-blob';
import { GatehouseError } from '../../../errors';
import { ObjectStoreSink, type ListPage } from '../object-store-sink';
import type { RetryOptions } from '../retry';
import { classifyAzureError, REASON_TEXT } from './azure-errors';

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

/**
 * A log sink on an Azure Blob Storage container (meant for one under a locked, version-level
 * immutability policy). Each `put` is one Put Blob: atomic, with `If-None-Match: *` so the service
 * refuses to replace a blob (reason `exists`), and `x-ms-blob-content-md5`, which the service
 * checks against what it received before storing. No `append`: one blob per flush.
 *
 * Retries (the SDK's own are off: a retried conditional write needs ObjectStoreSink.put's check),
 * the failure vocabulary and their text are shared with the other object stores; failures reject
 * with GH_ERR_RECORDING_FAILED whose details carry `{ sink: 'azure-blob', op, key, reason, attempts, container }`.
 */
export class AzureBlobLogSink extends ObjectStoreSink {
  readonly container: string;
  private readonly client: ContainerClient;
  private readonly listPageSize: number;
  private readonly requestTimeoutMs: number;

  constructor(options: AzureBlobLogSinkOptions) {
    super({ sink: 'azure-blob', label: 'Azure Blob', location: { field: 'container', value: options.container }, classify: classifyAzureError, reasonText: REASON_TEXT }, options.prefix, options);
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
    this.listPageSize = Math.min(5000, Math.max(1, options.listPageSize ?? 5000));
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15000;
    const service = new BlobServiceClient(options.endpoint.replace(/\/$/, ''), options.credential, {
      retryOptions: { maxTries: 1, tryTimeoutInMs: this.requestTimeoutMs },
      userAgentOptions: { userAgentPrefix: 'gatehouse' },
    });
    this.client = service.getContainerClient(options.container);
  }

  protected async createObject(name: string, body: Buffer): Promise<void> {
    await this.client.getBlockBlobClient(name).upload(body, body.length, {
      conditions: { ifNoneMatch: '*' },
      blobHTTPHeaders: { blobContentMD5: createHash('md5').update(body).digest(), blobContentType: 'application/octet-stream' },
    });
  }

  protected async readObject(name: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.getBlobClient(name).download(0, undefined, { abortSignal: AbortSignal.timeout(this.requestTimeoutMs) });
      return await readAll(res.readableStreamBody);
    } catch (e) {
      if (classifyAzureError(e).reason === 'not-found') return undefined;
      throw e;
    }
  }

  protected async listPage(prefix: string, token: string | undefined): Promise<ListPage> {
    const next = await this.client.listBlobsFlat({ prefix }).byPage({ maxPageSize: this.listPageSize, continuationToken: token }).next();
    if (next.done) return { names: [] };
    return { names: next.value.segment.blobItems.map((b) => b.name), next: next.value.continuationToken || undefined };
  }
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}
