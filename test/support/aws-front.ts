import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../gateway/src/protocols/aws/sha256';

/**
 * A SigV4-verifying front for an AWS API stand-in (s3rver, ...): what AWS itself would check of a
 * re-signing gateway. Every request must be signed with the brokered credential (the signature is
 * recomputed independently with @smithy/signature-v4 over the headers it names, at its own date);
 * a signed payload hash must match the body; an aws-chunked body is decoded, its chunk signatures
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) or its checksum trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)
 * checked. Verified requests go to the stand-in as plain, unauthenticated requests; the rest are
 * answered `403 SignatureDoesNotMatch` and never reach it.
 */
export interface FrontCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface FrontRecord {
  readonly method: string;
  readonly url: string;
  readonly accessKeyId: string | undefined;
  readonly payload: string | undefined;
  readonly verified: boolean;
  readonly why?: string;
  /** Every header as received (to prove no caller credential reached the upstream). */
  readonly rawHeaders: readonly string[];
  /** The decoded body the stand-in received. */
  readonly body: Buffer;
}

export interface AwsFront {
  readonly url: string;
  readonly records: FrontRecord[];
  close(): Promise<void>;
}

export interface AwsFrontOptions {
  readonly upstream: string;
  readonly credentials: () => FrontCredentials;
  readonly service: string;
  readonly region: string;
  /**
   * Authentication and `x-amz-*` headers passed on to the stand-in after verification (dynalite
   * needs `x-amz-target` and a SigV4-shaped `authorization`, which it does not check). @default none
   */
  readonly forwardHeaders?: readonly string[];
}

export async function startAwsFront(options: AwsFrontOptions): Promise<AwsFront> {
  const forward = new Set(options.forwardHeaders ?? []);
  const records: FrontRecord[] = [];
  const target = new URL(options.upstream);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const auth = String(req.headers.authorization ?? '');
    const accessKeyId = /Credential=([^/]+)\//.exec(auth)?.[1];
    const payload = req.headers['x-amz-content-sha256'] as string | undefined;
    let body = raw;
    let why: string | undefined;
    try {
      await verifyHeaders(req, auth, options.credentials(), options.service, options.region, raw);
      if (payload === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') body = decodeSignedChunks(raw, req, auth, options.credentials().secretAccessKey);
      else if (payload === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') body = decodeSignedChunks(raw, req, auth, options.credentials().secretAccessKey, true);
      else if (payload === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') body = decodeTrailerChunks(raw, req);
      else if (payload !== undefined && payload !== 'UNSIGNED-PAYLOAD' && createHash('sha256').update(raw).digest('hex') !== payload) throw new Error('x-amz-content-sha256 does not match the body');
      const decoded = req.headers['x-amz-decoded-content-length'];
      if (decoded !== undefined && Number(decoded) !== body.length) throw new Error('x-amz-decoded-content-length does not match the decoded body');
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    records.push({ method: req.method!, url: req.url!, accessKeyId, payload, verified: why === undefined, ...(why === undefined ? {} : { why }), rawHeaders: req.rawHeaders, body });
    if (why !== undefined) {
      const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>${why.replace(/</g, '&lt;')}</Message></Error>`;
      res.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': 'FRONTREFUSED' }).end(xml);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      if (!forward.has(k) && (k === 'authorization' || k.startsWith('x-amz-')) || k === 'host' || k === 'content-length' || k === 'transfer-encoding' || k === 'connection') continue;
      if (k === 'content-encoding') {
        const rest = String(v).split(',').map((s) => s.trim()).filter((s) => s !== 'aws-chunked');
        if (rest.length > 0) headers[k] = rest.join(',');
        continue;
      }
      headers[k] = Array.isArray(v) ? v.join(',') : v;
    }
    headers['content-length'] = String(body.length);
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
      // AWS answers every call with a request id; s3rver does not always: the front adds one, as AWS would.
      const headers = { ...upRes.headers };
      headers['x-amz-request-id'] ??= `FRONT${records.length}`;
      res.writeHead(upRes.statusCode!, headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end(body);
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Recomputes the request's signature with @smithy/signature-v4 at its own date, over the headers it names. */
async function verifyHeaders(req: IncomingMessage, auth: string, creds: FrontCredentials, service: string, region: string, body: Buffer): Promise<void> {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new Error('no SigV4 Authorization header');
  const [, key, , r, s, signedList, signature] = m as unknown as string[];
  if (key !== creds.accessKeyId) throw new Error(`signed with access key ${key}, not the brokered one`);
  if (r !== region || s !== service) throw new Error('scope names another region or service');
  if (creds.sessionToken !== undefined && req.headers['x-amz-security-token'] !== creds.sessionToken) throw new Error('the session token is not the brokered one');
  const signed = signedList!.split(';');
  for (const h of Object.keys(req.headers)) if (h.startsWith('x-amz-') && !signed.includes(h)) throw new Error(`${h} is not signed`);
  const headers: Record<string, string> = {};
  for (const h of signed) {
    const v = req.headers[h];
    if (v === undefined) throw new Error(`signed header ${h} is absent`);
    headers[h] = Array.isArray(v) ? v.join(',') : v;
  }
  const url = new URL(req.url!, `http://${req.headers.host}`);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const amzDate = headers['x-amz-date']!;
  const date = new Date(Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15)));
  const signer = new SignatureV4({ credentials: creds, region, service, sha256: NodeSha256, uriEscapePath: service !== 's3', applyChecksum: false });
  const again = await signer.sign(
    { method: req.method!, protocol: 'http:', hostname: url.hostname, path: req.url!.split('?')[0]!, query, headers, ...(headers['x-amz-content-sha256'] === undefined ? { body } : {}) },
    { signingDate: date },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(again.headers.authorization!)![1]!;
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature!))) throw new Error('the signature does not match the brokered credential');
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  let k = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  return k;
}

/**
 * Decodes STREAMING-AWS4-HMAC-SHA256-PAYLOAD, checking each chunk's signature in the chain from the
 * request's; with `trailer` (…-PAYLOAD-TRAILER, AWS's sigv4-streaming-trailers) also the trailing
 * headers after the final chunk, their signature (AWS4-HMAC-SHA256-TRAILER over `name:value\n`
 * lines) and the CRC32 checksum they carry.
 */
function decodeSignedChunks(raw: Buffer, req: IncomingMessage, auth: string, secret: string, trailer = false): Buffer {
  const [, date, region, service] = /Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\//.exec(auth)!;
  const key = signingKey(secret, date!, region!, service!);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const amzDate = String(req.headers['x-amz-date']);
  let previous = /Signature=([0-9a-f]{64})/.exec(auth)![1]!;
  const emptyHash = createHash('sha256').update('').digest('hex');
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const header = /^([0-9a-f]+);chunk-signature=([0-9a-f]{64})$/.exec(raw.subarray(at, eol).toString('latin1'));
    if (!header) throw new Error('a chunk header does not parse');
    const size = parseInt(header[1]!, 16);
    const data = raw.subarray(eol + 2, eol + 2 + size);
    const sts = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${emptyHash}\n${createHash('sha256').update(data).digest('hex')}`;
    const expected = createHmac('sha256', key).update(sts).digest('hex');
    if (expected !== header[2]) throw new Error('a chunk signature does not match the brokered credential');
    previous = expected;
    if (size === 0 && trailer) {
      at = eol + 2;
      break;
    }
    at = eol + 2 + size + 2;
    if (size === 0) break;
    out.push(data);
  }
  const body = Buffer.concat(out);
  if (!trailer) return body;
  const lines = raw.subarray(at).toString('latin1').split('\r\n');
  if (lines.at(-1) !== '' || lines.at(-2) !== '') throw new Error('the trailing headers do not end with an empty line');
  const headers = lines.slice(0, -2);
  const signed = /^x-amz-trailer-signature:([0-9a-f]{64})$/.exec(headers.pop() ?? '');
  if (!signed) throw new Error('no trailer signature');
  const canonical = headers.map((h) => `${h.slice(0, h.indexOf(':')).toLowerCase()}:${h.slice(h.indexOf(':') + 1).trim()}\n`).sort().join('');
  const sts = `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previous}\n${createHash('sha256').update(canonical).digest('hex')}`;
  if (createHmac('sha256', key).update(sts).digest('hex') !== signed[1]) throw new Error('the trailer signature does not match the brokered credential');
  const declared = String(req.headers['x-amz-trailer'] ?? '');
  const crc = headers.find((h) => h.toLowerCase().startsWith(`${declared}:`));
  if (declared !== 'x-amz-checksum-crc32' || crc === undefined) throw new Error(`unexpected trailer ${declared}`);
  const want = Buffer.alloc(4);
  want.writeUInt32BE(crc32(body) >>> 0);
  if (crc.slice(crc.indexOf(':') + 1) !== want.toString('base64')) throw new Error('the CRC32 trailer does not match the body');
  return body;
}

/** Decodes STREAMING-UNSIGNED-PAYLOAD-TRAILER and checks its CRC32 / SHA-256 checksum trailer. */
function decodeTrailerChunks(raw: Buffer, req: IncomingMessage): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (Number.isNaN(size)) throw new Error('a chunk header does not parse');
    at = eol + 2;
    if (size === 0) break;
    out.push(raw.subarray(at, at + size));
    at += size + 2;
  }
  const body = Buffer.concat(out);
  const trailer = raw.subarray(at).toString('latin1');
  const name = String(req.headers['x-amz-trailer'] ?? '');
  const value = new RegExp(`${name}:([^\\r]+)`).exec(trailer)?.[1];
  if (name === 'x-amz-checksum-crc32') {
    const want = Buffer.alloc(4);
    want.writeUInt32BE(crc32(body) >>> 0);
    if (value !== want.toString('base64')) throw new Error('the CRC32 trailer does not match the body');
  } else if (name !== '') throw new Error(`unexpected trailer ${name}`);
  return body;
}
