import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { GatehouseError } from '../../errors';
import type { AwsCredentials } from './brokered';
import { NodeSha256 } from './sha256';

/**
 * Re-signing a verified caller request with the brokered credential (issue 20, point 4), with
 * @smithy/signature-v4 (the SDKs' own signer). The upstream signature covers what the caller's
 * covered (its signed headers, with Host now the upstream's) and nothing the gateway added; the
 * payload value is the caller's (`x-amz-content-sha256`: a SHA-256, `UNSIGNED-PAYLOAD`, or a
 * streaming mode), so a signed payload is checked by the upstream against the bytes it receives.
 */
export interface ResignRequest {
  readonly method: string;
  /** The upstream origin. */
  readonly origin: string;
  /** The upstream path with its query, as sent. */
  readonly path: string;
  /** The headers sent upstream: authorization, x-amz-date, x-amz-security-token and host are set here. */
  readonly headers: OutgoingHttpHeaders;
  /** The whole body, when the signature must cover its hash (no `x-amz-content-sha256`). */
  readonly body?: Buffer;
  /** The header names the caller signed (lower case). */
  readonly callerSigned: readonly string[];
  readonly service: string;
  readonly region: string;
  /** @default now */
  readonly signingDate?: Date;
}

/** What the upstream signature was made with: the seed of a re-signed chunk stream. */
export interface UpstreamSignature {
  readonly signature: string;
  readonly amzDate: string;
}

/** Set by the gateway, never taken from the caller's signed list. */
const GATEWAY_SIGNED = new Set(['authorization', 'host', 'x-amz-date', 'x-amz-security-token']);

export async function resignRequest(request: ResignRequest, credentials: AwsCredentials): Promise<UpstreamSignature> {
  const url = new URL(request.origin);
  const q = request.path.indexOf('?');
  const path = q < 0 ? request.path : request.path.slice(0, q);
  const query = parseQueryObject(q < 0 ? '' : request.path.slice(q + 1));
  const toSign: Record<string, string> = { host: url.host };
  for (const name of request.callerSigned) {
    if (GATEWAY_SIGNED.has(name)) continue;
    const value = request.headers[name];
    if (value === undefined) continue;
    toSign[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }) },
    region: request.region,
    service: request.service,
    sha256: NodeSha256,
    // S3 signs its path as sent; every other service the path encoded once more.
    uriEscapePath: request.service !== 's3',
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path,
      query,
      headers: toSign,
      ...(request.body === undefined ? {} : { body: request.body }),
    },
    request.signingDate === undefined ? {} : { signingDate: request.signingDate },
  );
  const h = signed.headers;
  request.headers.host = url.host;
  request.headers.authorization = h.authorization!;
  request.headers['x-amz-date'] = h['x-amz-date']!;
  if (h['x-amz-security-token'] !== undefined) request.headers['x-amz-security-token'] = h['x-amz-security-token'];
  else delete request.headers['x-amz-security-token'];
  const signature = /Signature=([0-9a-f]{64})/.exec(h.authorization!)![1]!;
  return { signature, amzDate: h['x-amz-date']! };
}

/** Query pairs as @smithy/signature-v4 takes them (decoded; a repeated name as a list). */
function parseQueryObject(query: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  if (query === '') return out;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const v = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    const prior = out[k];
    out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  return out;
}

/** The SigV4 signing key (kSigning) for a secret and scope. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

/** One side of a signed chunk stream: its key, scope and the signature chunks chain from. */
export interface ChunkSigner {
  readonly key: Buffer;
  readonly amzDate: string;
  /** `<date>/<region>/<service>/aws4_request`. */
  readonly scope: string;
  /** The request's own signature (the seed). */
  readonly seed: string;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

function chunkSignature(signer: ChunkSigner, previous: string, dataHash: string): string {
  const stringToSign = `AWS4-HMAC-SHA256-PAYLOAD\n${signer.amzDate}\n${signer.scope}\n${previous}\n${EMPTY_SHA256}\n${dataHash}`;
  return createHmac('sha256', signer.key).update(stringToSign).digest('hex');
}

/** Largest chunk held at once (the SDKs send 64 KiB; aws-cli 8 MiB at most): memory stays bounded. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const MAX_CHUNK_HEADER = 256;
const CHUNK_HEADER = /^([0-9a-fA-F]{1,8});chunk-signature=([0-9a-f]{64})$/;
const SIGNATURE_HEX = /^[0-9a-f]{64}$/;

function chunkError(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_AWS_SIGNATURE_MISMATCH', `aws-chunked upload refused: ${message}`);
}

/** Bytes of the trailing headers (checksums and their signature are a few dozen each). */
const MAX_TRAILER_BYTES = 4096;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';
const TRAILER_LINE = /^([A-Za-z0-9-]+):(.*)$/s;

/** What a signed-trailer stream declared (`x-amz-trailer`): the trailing headers it must end with. */
export interface ResignChunksOptions {
  /**
   * `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: the lower-case names the request's `x-amz-trailer`
   * declared. The final chunk is then followed by exactly those trailing headers and an
   * `x-amz-trailer-signature` over them. @default no trailers (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`)
   */
  readonly trailers?: readonly string[];
}

function trailerSignature(signer: ChunkSigner, previous: string, canonical: string): string {
  const stringToSign = `AWS4-HMAC-SHA256-TRAILER\n${signer.amzDate}\n${signer.scope}\n${previous}\n${createHash('sha256').update(canonical).digest('hex')}`;
  return createHmac('sha256', signer.key).update(stringToSign).digest('hex');
}

/**
 * Re-frames an `aws-chunked` body signed chunk by chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, and
 * with `trailers` its `-TRAILER` form): each chunk's signature is checked against the caller's chain
 * before the chunk leaves, then the chunk is sent with its signature in the upstream chain. One
 * chunk is held at a time. The framing keeps its length (hex sizes and 64-digit signatures alike),
 * so Content-Length stands. A chunk that does not verify, a malformed frame or a body that ends
 * early throws: the upstream request is cut before that chunk, so an upstream never stores a body
 * the caller did not sign.
 *
 * Signed trailers (AWS's sigv4-streaming-trailers; the Java and .NET SDKs send them over plain
 * HTTP): after the final, empty chunk come `name:value` lines, `x-amz-trailer-signature:<sig>`
 * and an empty line. The signature chains from the final chunk's over the trailing headers in
 * canonical form (sorted `name:value\n`, string to sign `AWS4-HMAC-SHA256-TRAILER`). The trailing
 * headers must be exactly the declared ones, each once; they are checked as a whole and passed on
 * unchanged with the upstream's trailer signature, so the upstream checks the checksum they carry
 * against the bytes it received.
 */
export async function* resignChunks(source: AsyncIterable<Buffer>, caller: ChunkSigner, upstream: () => ChunkSigner, options: ResignChunksOptions = {}): AsyncGenerator<Buffer> {
  const declared = options.trailers;
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let callerPrevious = caller.seed;
  let upstreamSide: ChunkSigner | undefined;
  let upstreamPrevious = '';
  let state: 'header' | 'data' | 'trailer' | 'done' = 'header';
  let size = 0;
  let signature = '';
  const trailerLines: [string, string][] = [];
  let trailerBytes = 0;
  let trailerSigned: string | undefined;

  const take = (n: number): Buffer => {
    const all = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered, bufferedBytes);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    buffered = rest.length > 0 ? [rest] : [];
    bufferedBytes = rest.length;
    return head;
  };
  const headerEnd = (): number => {
    const all = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered, bufferedBytes);
    buffered = all.length > 0 ? [all] : [];
    return all.indexOf('\r\n');
  };
  /** Checks a chunk's data against the caller's chain; its header in the upstream's chain. */
  const resignedHeader = (data: Buffer): Buffer => {
    const hash = createHash('sha256').update(data).digest('hex');
    const expected = Buffer.from(chunkSignature(caller, callerPrevious, hash), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (!timingSafeEqual(expected, given)) throw chunkError('a chunk signature does not match (the chunk was changed, or signed with another secret)');
    callerPrevious = signature;
    upstreamSide ??= upstream();
    if (upstreamPrevious === '') upstreamPrevious = upstreamSide.seed;
    upstreamPrevious = chunkSignature(upstreamSide, upstreamPrevious, hash);
    return Buffer.from(`${size.toString(16)};chunk-signature=${upstreamPrevious}\r\n`, 'latin1');
  };

  for await (const piece of source) {
    if (state === 'done') {
      if (piece.length > 0) throw chunkError('bytes after the final chunk');
      continue;
    }
    buffered.push(piece);
    bufferedBytes += piece.length;
    for (;;) {
      if (state === 'header') {
        const end = headerEnd();
        if (end < 0) {
          if (bufferedBytes > MAX_CHUNK_HEADER) throw chunkError('a chunk header is too long');
          break;
        }
        const line = take(end + 2).subarray(0, end).toString('latin1');
        const m = CHUNK_HEADER.exec(line);
        if (!m) throw chunkError('a chunk header does not parse');
        size = parseInt(m[1]!, 16);
        if (size > MAX_CHUNK_BYTES) throw chunkError(`a chunk is larger than ${MAX_CHUNK_BYTES} bytes`);
        signature = m[2]!;
        if (size === 0 && declared !== undefined) {
          // The final chunk of a trailer stream carries no CRLF of its own: the trailing headers follow.
          yield resignedHeader(Buffer.alloc(0));
          state = 'trailer';
        } else state = 'data';
      }
      if (state === 'data') {
        if (bufferedBytes < size + 2) break;
        const framed = take(size + 2);
        if (framed[size] !== 0x0d || framed[size + 1] !== 0x0a) throw chunkError('a chunk does not end with CRLF');
        yield Buffer.concat([resignedHeader(framed.subarray(0, size)), framed]);
        if (size === 0) {
          state = 'done';
          if (bufferedBytes > 0) throw chunkError('bytes after the final chunk');
          break;
        }
        state = 'header';
      }
      if (state === 'trailer') {
        const end = headerEnd();
        if (end < 0) {
          if (trailerBytes + bufferedBytes > MAX_TRAILER_BYTES) throw chunkError('the trailing headers are too long');
          break;
        }
        trailerBytes += end + 2;
        if (trailerBytes > MAX_TRAILER_BYTES) throw chunkError('the trailing headers are too long');
        const line = take(end + 2).subarray(0, end).toString('latin1');
        if (line !== '') {
          const m = TRAILER_LINE.exec(line);
          if (!m || trailerSigned !== undefined) throw chunkError('a trailing header does not parse, or follows the trailer signature');
          const name = m[1]!.toLowerCase();
          if (name === TRAILER_SIGNATURE) {
            if (!SIGNATURE_HEX.test(m[2]!)) throw chunkError('the trailer signature does not parse');
            trailerSigned = m[2]!;
          } else {
            if (!declared!.includes(name) || trailerLines.some(([n]) => n === name)) throw chunkError(`trailing header ${name.slice(0, 64)} was not declared in x-amz-trailer, or is repeated`);
            trailerLines.push([name, line]);
          }
          continue;
        }
        // The empty line ends the trailer: check it whole, then send it signed in the upstream's chain.
        if (trailerSigned === undefined) throw chunkError('the trailing headers carry no x-amz-trailer-signature');
        if (trailerLines.length !== declared!.length) throw chunkError('a trailing header declared in x-amz-trailer is missing');
        const canonical = trailerLines
          .map(([name, raw]) => `${name}:${raw.slice(raw.indexOf(':') + 1).trim().replace(/\s+/g, ' ')}\n`)
          .sort()
          .join('');
        const expected = Buffer.from(trailerSignature(caller, callerPrevious, canonical), 'hex');
        if (!timingSafeEqual(expected, Buffer.from(trailerSigned, 'hex'))) throw chunkError('the trailer signature does not match (a trailing header was changed, or signed with another secret)');
        const resigned = trailerSignature(upstreamSide!, upstreamPrevious, canonical);
        yield Buffer.from(`${trailerLines.map(([, raw]) => `${raw}\r\n`).join('')}${TRAILER_SIGNATURE}:${resigned}\r\n\r\n`, 'latin1');
        state = 'done';
        if (bufferedBytes > 0) throw chunkError('bytes after the trailing headers');
        break;
      }
    }
  }
  if (state !== 'done') throw chunkError('the body ended before its final chunk');
}
