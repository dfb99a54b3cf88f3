import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * A minimal stand-in for the Cloud Storage JSON API, implementing only the calls GcsLogSink makes
 * (multipart upload with `ifGenerationMatch`, media download, object listing with pages) and the
 * behaviour the sink relies on: 412 for `ifGenerationMatch=0` on an existing object, MD5 checked
 * against the uploaded metadata (400 on mismatch), 404 for missing buckets and objects.
 *
 * No faithful Cloud Storage emulator is published on npm (the closest, fsouza/fake-gcs-server,
 * ships as a Go binary / a PyPI wheel); this is written from the JSON API reference, one route per
 * call the @google-cloud/storage client makes for GcsLogSink, and nothing else (anything else
 * answers 501, so a sink change that needs another call fails here rather than passing):
 * - `file.save(..., { resumable: false })`: objects.insert as a multipart upload,
 *   `POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart` with `ifGenerationMatch`
 *   (https://cloud.google.com/storage/docs/json_api/v1/objects/insert,
 *   https://cloud.google.com/storage/docs/uploading-objects#uploading-an-object, multipart);
 * - `file.download()`: objects.get with `alt=media`, `GET [/download]/storage/v1/b/{bucket}/o/{object}`
 *   (https://cloud.google.com/storage/docs/json_api/v1/objects/get);
 * - `bucket.getFiles({ prefix, maxResults, pageToken, autoPaginate: false })`: objects.list,
 *   `GET /storage/v1/b/{bucket}/o` (https://cloud.google.com/storage/docs/json_api/v1/objects/list);
 * - preconditions: 412 `conditionNotMet` (https://cloud.google.com/storage/docs/request-preconditions),
 *   MD5 mismatch 400 (https://cloud.google.com/storage/docs/hashes-etags).
 */
export interface GcsEmulator {
  readonly endpoint: string;
  readonly objects: Map<string, { bytes: Buffer; generation: number }>;
  /** Every request line seen (method and path without query), for assertions. */
  readonly requests: string[];
  /** Answers the next `n` requests with this status before handling them normally. */
  failNext(n: number, status: number, reason?: string): void;
  /** Buckets that answer 403 to everything (a principal without roles). */
  readonly forbiddenBuckets: Set<string>;
  close(): Promise<void>;
}

export async function startGcsEmulator(buckets: readonly string[]): Promise<GcsEmulator> {
  const known = new Set(buckets);
  const objects = new Map<string, { bytes: Buffer; generation: number }>();
  const requests: string[] = [];
  const forbiddenBuckets = new Set<string>();
  let failures: { left: number; status: number; reason: string } = { left: 0, status: 0, reason: '' };
  let generation = 1000;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, Buffer.concat(chunks), res);
      } catch (e) {
        error(res, 500, 'backendError', (e as Error).message);
      }
    });
  });

  function handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    if (failures.left > 0) {
      failures.left--;
      return error(res, failures.status, failures.reason, 'injected failure');
    }
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname))) {
      // Only the single-request multipart upload is emulated (resumable sessions are not).
      if (url.searchParams.get('uploadType') !== 'multipart') return error(res, 501, 'notImplemented', `uploadType=${url.searchParams.get('uploadType')} is not emulated`);
      const bucket = decodeURIComponent(m[1]!);
      if (!bucketOk(bucket, res)) return;
      const { metadata, media } = parseMultipart(req.headers['content-type'] ?? '', body);
      const name = url.searchParams.get('name') ?? (metadata.name as string | undefined);
      if (!name) return error(res, 400, 'required', 'object name is required');
      const id = `${bucket}/${name}`;
      const ifGen = url.searchParams.get('ifGenerationMatch');
      if (ifGen !== null && Number(ifGen) !== (objects.get(id)?.generation ?? 0)) {
        return error(res, 412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
      }
      const md5 = createHash('md5').update(media).digest('base64');
      if (typeof metadata.md5Hash === 'string' && metadata.md5Hash !== md5) {
        return error(res, 400, 'invalid', 'Provided MD5 hash does not match calculated MD5 hash');
      }
      const gen = ++generation;
      objects.set(id, { bytes: media, generation: gen });
      return json(res, 200, { kind: 'storage#object', bucket, name, generation: String(gen), size: String(media.length), md5Hash: md5 });
    }
    if (req.method === 'GET' && (m = /^(?:\/download)?\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname))) {
      const bucket = decodeURIComponent(m[1]!);
      if (!bucketOk(bucket, res)) return;
      const obj = objects.get(`${bucket}/${decodeURIComponent(m[2]!)}`);
      if (!obj) return error(res, 404, 'notFound', 'No such object');
      if (url.searchParams.get('alt') === 'media') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': obj.bytes.length, 'x-goog-generation': String(obj.generation) });
        return void res.end(obj.bytes);
      }
      return json(res, 200, { name: decodeURIComponent(m[2]!), bucket, generation: String(obj.generation), size: String(obj.bytes.length) });
    }
    if (req.method === 'GET' && (m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname))) {
      const bucket = decodeURIComponent(m[1]!);
      if (!bucketOk(bucket, res)) return;
      const prefix = url.searchParams.get('prefix') ?? '';
      const max = Number(url.searchParams.get('maxResults') ?? 1000);
      const after = url.searchParams.get('pageToken') ?? '';
      const names = [...objects.keys()].filter((k) => k.startsWith(`${bucket}/`)).map((k) => k.slice(bucket.length + 1))
        .filter((n) => n.startsWith(prefix) && n > after).sort();
      const page = names.slice(0, max);
      return json(res, 200, {
        kind: 'storage#objects',
        items: page.map((name) => ({ kind: 'storage#object', name, bucket })),
        ...(names.length > max ? { nextPageToken: page[page.length - 1] } : {}),
      });
    }
    error(res, 501, 'notImplemented', `${req.method} ${url.pathname} is not emulated`);
  }

  function bucketOk(bucket: string, res: ServerResponse): boolean {
    if (forbiddenBuckets.has(bucket)) {
      error(res, 403, 'forbidden', 'caller does not have storage.objects access to the Google Cloud Storage bucket.');
      return false;
    }
    if (!known.has(bucket)) {
      error(res, 404, 'notFound', 'The specified bucket does not exist.');
      return false;
    }
    return true;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    forbiddenBuckets,
    failNext: (n, status, reason = 'backendError') => void (failures = { left: n, status, reason }),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function error(res: ServerResponse, status: number, reason: string, message: string): void {
  json(res, status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
}

/** multipart/related: a JSON metadata part, then the media part. */
function parseMultipart(contentType: string, body: Buffer): { metadata: Record<string, unknown>; media: Buffer } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return { metadata: {}, media: body };
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    parts.push(body.subarray(start + delimiter.length, next));
    start = next;
  }
  const contents = parts.map((p) => {
    const headerEnd = p.indexOf('\r\n\r\n');
    // Drop the CRLF that precedes the next delimiter.
    return p.subarray(headerEnd + 4, p.length - 2);
  });
  return { metadata: JSON.parse(contents[0]!.toString('utf8') || '{}') as Record<string, unknown>, media: contents[1] ?? Buffer.alloc(0) };
}
