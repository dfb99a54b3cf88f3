import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { EventStreamCodec } from '@smithy/core/event-streams';
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
  /**
   * Answers a verified request itself instead of the stand-in (what the stand-in lacks: S3 Select's
   * event-stream answer); undefined: the stand-in answers. The body may come in pieces, each written
   * on its own. @default the stand-in answers every request
   */
  readonly answer?: (request: { readonly method: string; readonly url: string; readonly body: Buffer }) => Promise<FrontAnswer | undefined> | FrontAnswer | undefined;
}

export interface FrontAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: readonly Buffer[];
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
    const own = await options.answer?.({ method: req.method!, url: req.url!, body });
    if (own !== undefined) {
      const id = own.headers['x-amzn-requestid'] === undefined ? { 'x-amz-request-id': `FRONT${records.length}` } : {};
      res.writeHead(own.status, { ...id, ...own.headers });
      for (const piece of own.body) res.write(piece);
      res.end();
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
      if (headers['x-amzn-requestid'] === undefined) headers['x-amz-request-id'] ??= `FRONT${records.length}`;
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

/**
 * A minimal STS stand-in (query protocol, XML answers) behind SigV4-verifying fronts: `AssumeRole`
 * issues a fresh temporary credential for the role it names (the gateway's own call for a
 * connection's `brokered.roleArn`), and `GetCallerIdentity` answers the identity of the access key
 * that signed the request (the front passes the verified `Authorization` on). A front before each
 * role checks the signature: `assumeUrl` with the source credential, `url` with the credential the
 * last AssumeRole issued, so a GetCallerIdentity the gateway forwards verifies only when the
 * gateway re-signed it with the role it assumed.
 */
export interface StsStandIn {
  /** The AssumeRole endpoint (the gateway's `brokered.stsEndpoint`): verifies with the source credential. */
  readonly assumeUrl: string;
  /** The STS API endpoint (a connection's `endpoint`): verifies with the last issued credential. */
  readonly url: string;
  /** The credentials issued by AssumeRole, in order. */
  readonly issued: readonly (FrontCredentials & { readonly arn: string })[];
  readonly assumeFront: AwsFront;
  readonly apiFront: AwsFront;
  close(): Promise<void>;
}

export interface StsStandInOptions {
  readonly region: string;
  readonly account: string;
  /** The gateway's source credential (its task role, here static keys) and that identity's ARN. */
  readonly source: FrontCredentials & { readonly arn: string };
  /** Roles AssumeRole grants (others: AccessDenied). */
  readonly roles: readonly string[];
}

export async function startStsStandIn(options: StsStandInOptions): Promise<StsStandIn> {
  const issued: (FrontCredentials & { arn: string })[] = [];
  const identities = new Map<string, string>([[options.source.accessKeyId, options.source.arn]]);
  const xml = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': `sts-${issued.length}-${Date.now()}` }).end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  };
  const error = (res: ServerResponse, status: number, code: string, message: string): void =>
    xml(res, status, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>stand-in</RequestId></ErrorResponse>`);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const key = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
      const ns = 'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"';
      switch (form.get('Action')) {
        case 'AssumeRole': {
          const role = form.get('RoleArn') ?? '';
          const session = form.get('RoleSessionName') ?? '';
          if (!options.roles.includes(role) || key !== options.source.accessKeyId) return error(res, 403, 'AccessDenied', `not authorized to assume ${role}`);
          const n = issued.length + 1;
          const arn = `arn:aws:sts::${options.account}:assumed-role/${role.split('/').pop()}/${session}`;
          const credential = { accessKeyId: `ASIASTANDIN${String(n).padStart(9, '0')}`, secretAccessKey: `assumed/${n}/${Math.random().toString(36).slice(2)}`, sessionToken: `FwoStandIn${n}&token/${Math.random().toString(36).slice(2)}`, arn };
          issued.push(credential);
          identities.set(credential.accessKeyId, arn);
          const exp = new Date(Date.now() + Number(form.get('DurationSeconds') ?? 3600) * 1000).toISOString();
          const token = credential.sessionToken.replace(/&/g, '&amp;');
          return xml(res, 200, `<AssumeRoleResponse ${ns}><AssumeRoleResult><Credentials><AccessKeyId>${credential.accessKeyId}</AccessKeyId><SecretAccessKey>${credential.secretAccessKey}</SecretAccessKey><SessionToken>${token}</SessionToken><Expiration>${exp}</Expiration></Credentials><AssumedRoleUser><Arn>${arn}</Arn><AssumedRoleId>AROASTANDIN:${session}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>stand-in-${n}</RequestId></ResponseMetadata></AssumeRoleResponse>`);
        }
        case 'GetCallerIdentity': {
          const arn = key === undefined ? undefined : identities.get(key);
          if (arn === undefined) return error(res, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
          const userId = arn.includes(':assumed-role/') ? `AROASTANDIN:${arn.split('/').pop()}` : 'AIDASTANDINSOURCE';
          return xml(res, 200, `<GetCallerIdentityResponse ${ns}><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>${userId}</UserId><Account>${options.account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>stand-in-gci</RequestId></ResponseMetadata></GetCallerIdentityResponse>`);
        }
        default:
          return error(res, 400, 'InvalidAction', `Could not find operation ${String(form.get('Action')).slice(0, 40)}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const common = { upstream, service: 'sts', region: options.region, forwardHeaders: ['authorization'] };
  const assumeFront = await startAwsFront({ ...common, credentials: () => options.source });
  const apiFront = await startAwsFront({
    ...common,
    credentials: () => {
      const last = issued.at(-1);
      if (last === undefined) throw new Error('no role was assumed yet');
      return last;
    },
  });
  return {
    assumeUrl: assumeFront.url,
    url: apiFront.url,
    issued,
    assumeFront,
    apiFront,
    close: async () => {
      await Promise.all([assumeFront.close(), apiFront.close()]);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * An S3 SelectObjectContent answer as AWS frames it (application/vnd.amazon.eventstream), encoded
 * with the SDK's own codec: one `Records` event per row group, then `Stats` and `End`
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html). `corrupt`
 * flips a payload byte of the second message after encoding (its CRC no longer matches).
 */
export function selectEventStream(rows: readonly Buffer[], options: { readonly corrupt?: boolean } = {}): Buffer[] {
  const codec = new EventStreamCodec((b) => Buffer.from(b).toString('utf8'), (s) => new Uint8Array(Buffer.from(s, 'utf8')));
  const event = (type: string, contentType: string | undefined, body: Buffer): Buffer => {
    const headers: Record<string, { type: 'string'; value: string }> = { ':message-type': { type: 'string', value: 'event' }, ':event-type': { type: 'string', value: type } };
    if (contentType !== undefined) headers[':content-type'] = { type: 'string', value: contentType };
    return Buffer.from(codec.encode({ headers, body: new Uint8Array(body) }));
  };
  const returned = rows.reduce((n, r) => n + r.length, 0);
  const messages = [
    ...rows.map((r) => event('Records', 'application/octet-stream', r)),
    event('Stats', 'text/xml', Buffer.from(`<Stats xmlns=""><BytesScanned>${returned}</BytesScanned><BytesProcessed>${returned}</BytesProcessed><BytesReturned>${returned}</BytesReturned></Stats>`)),
    event('End', undefined, Buffer.alloc(0)),
  ];
  if (options.corrupt) {
    const m = messages[1]!;
    m[m.length - 6] = m[m.length - 6]! ^ 0xff;
  }
  return messages;
}
