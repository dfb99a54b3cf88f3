import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3LogSink, type S3LogSinkOptions } from '../../../../../gateway/src/recording/sinks/s3/s3-sink';

export const BUCKET = 'gatehouse-log';
export const FAKE_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface SeenPut {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * s3rver 3.7 stores and lists objects faithfully but ignores `If-None-Match` on PUT and does not
 * check `x-amz-checksum-*`. This loopback front adds what real S3 (with the kit's bucket policy
 * and Object Lock) does on a PutObject, then forwards to s3rver unchanged:
 *  - no `If-None-Match` header → 403 AccessDenied (the kit's bucket policy denies such writes);
 *  - no `x-amz-checksum-sha256`, or one that does not match the body → 400 (Object Lock needs one);
 *  - `If-None-Match: *` and the key exists → 412 PreconditionFailed, as S3 answers.
 *  - ListObjectsV2 pages: s3rver encrypts its continuation tokens with DES, which OpenSSL 3 (Node
 *    17+) no longer offers, so any truncated listing fails with a 500. The front pages itself:
 *    it asks s3rver for everything after the token's key and cuts the answer to `max-keys`.
 * It can also inject failures, to test retries and the fail-closed paths.
 */
export class S3Front {
  readonly puts: SeenPut[] = [];
  /** Every request, in order: `METHOD path?query`. */
  readonly requests: string[] = [];
  /** Answer the next requests with these statuses (S3 error XML), one each, before forwarding. */
  failNext: Array<{ status: number; code: string }> = [];
  /** Forward the next N PUTs to s3rver, then drop the client connection instead of answering. */
  dropAfterStoreNext = 0;
  /** Answer every request with this error. */
  always?: { status: number; code: string };
  private server?: Server;

  constructor(private readonly upstream: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks), res);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private async handle(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer, res: import('node:http').ServerResponse): Promise<void> {
    this.requests.push(`${method} ${url}`);
    const fail = this.always ?? this.failNext.shift();
    if (fail) return sendError(res, fail.status, fail.code);
    const path = url.split('?')[0]!;
    const query = new URLSearchParams(url.split('?')[1] ?? '');
    if (method === 'GET' && query.get('list-type') === '2') return this.listPage(path, query, res);
    const isObjectPut = method === 'PUT' && path.split('/').filter(Boolean).length >= 2;
    if (isObjectPut) {
      this.puts.push({ path, headers });
      if (headers['if-none-match'] === undefined) return sendError(res, 403, 'AccessDenied');
      const sum = headers['x-amz-checksum-sha256'];
      if (typeof sum !== 'string') return sendError(res, 400, 'InvalidRequest');
      if (sum !== createHash('sha256').update(body).digest('base64')) return sendError(res, 400, 'BadDigest');
      if (headers['if-none-match'] === '*' && (await this.exists(path))) return sendError(res, 412, 'PreconditionFailed');
    }
    const drop = isObjectPut && this.dropAfterStoreNext > 0;
    if (drop) this.dropAfterStoreNext--;
    const up = request(this.upstream + url, { method, headers }, (upRes) => {
      if (drop) {
        upRes.resume();
        upRes.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.socket?.destroy());
    up.end(body);
  }

  private async listPage(path: string, query: URLSearchParams, res: import('node:http').ServerResponse): Promise<void> {
    const maxKeys = Number(query.get('max-keys') ?? '1000');
    const token = query.get('continuation-token');
    const upQuery = new URLSearchParams({ 'list-type': '2', prefix: query.get('prefix') ?? '' });
    if (token) upQuery.set('start-after', Buffer.from(token, 'base64url').toString('utf8'));
    // Unsigned (s3rver allows it): the query differs from the one the client signed.
    const upRes = await fetch(`${this.upstream}${path}?${upQuery}`);
    const xml = await upRes.text();
    if (upRes.status !== 200) {
      res.writeHead(upRes.status, { 'content-type': 'application/xml' });
      return void res.end(xml);
    }
    const contents = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
    const page = contents.slice(0, maxKeys);
    const truncated = contents.length > maxKeys;
    const lastKey = /<Key>([\s\S]*?)<\/Key>/.exec(page[page.length - 1] ?? '')?.[1];
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Name>${path.slice(1)}</Name><Prefix>${query.get('prefix') ?? ''}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (token ? `<ContinuationToken>${token}</ContinuationToken>` : '') +
      (truncated && lastKey ? `<NextContinuationToken>${Buffer.from(lastKey, 'utf8').toString('base64url')}</NextContinuationToken>` : '') +
      page.join('') +
      '</ListBucketResult>';
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  private exists(path: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      // s3rver serves unsigned requests; the front checks existence as S3 would internally.
      const req = request(this.upstream + path, { method: 'HEAD' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

function sendError(res: import('node:http').ServerResponse, status: number, code: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} (test front)</Message><RequestId>TEST</RequestId><HostId>TEST</HostId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'TEST', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

export interface S3Peer {
  readonly s3rverUrl: string;
  readonly front: S3Front;
  sink(options?: Partial<S3LogSinkOptions>): S3LogSink;
  stop(): Promise<void>;
}

/** s3rver on 127.0.0.1 (fresh directory, one bucket) behind an S3Front; both on free ports. */
export async function startS3(): Promise<S3Peer> {
  const directory = await mkdtemp(join(tmpdir(), 'gh-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  const s3rverUrl = `http://127.0.0.1:${port}`;
  const front = new S3Front(s3rverUrl);
  await front.start();
  const sinks: S3LogSink[] = [];
  return {
    s3rverUrl,
    front,
    sink(options = {}) {
      const s = new S3LogSink({
        bucket: BUCKET,
        region: 'us-east-1',
        endpoint: front.url,
        forcePathStyle: true,
        credentials: FAKE_CREDENTIALS,
        retryBaseMs: 1,
        retryMaxMs: 2,
        ...options,
      });
      sinks.push(s);
      return s;
    },
    async stop() {
      for (const s of sinks) await s.close();
      await front.stop();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A port that was free a moment ago and has nothing listening now (an endpoint that is down). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
