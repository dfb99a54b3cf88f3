import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../../errors';

/**
 * Verification of the caller's AWS Signature Version 4 (header authentication only), node:crypto only.
 *
 * The canonical request, string to sign and signing key follow AWS's definition:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * (and, for S3's payload hash values, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
 * Where the documents leave room, the rules are those of `@smithy/signature-v4`, which the SDKs sign with:
 * S3 signs its path as sent, every other service the normalized path encoded once more.
 *
 * Refused rather than interpreted: presigned (query) authentication, header and query authentication
 * together, a repeated Authorization or X-Amz-* header, an x-amz-* header left unsigned, a signed
 * header list without host and x-amz-date (and x-amz-content-sha256 when sent), a date more than 15
 * minutes away, a credential scope that does not fit.
 */

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** How far `x-amz-date` may be from the gateway's clock (AWS's own limit). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/** The request as it arrived: raw target parts and raw header pairs (Node's `rawHeaders`), so repeats are seen. */
export interface SignedRequest {
  readonly method: string;
  /** The path of the request target, exactly as received (still percent-encoded). */
  readonly path: string;
  /** The query of the request target without `?`, exactly as received ('' when none). */
  readonly query: string;
  /** Header name/value pairs in arrival order. */
  readonly headers: readonly (readonly [string, string])[];
  /** The whole body when known; undefined when it streams past the judge (then its hash is checked later). */
  readonly body?: Uint8Array;
}

/** What the signature covers about the payload. */
export type PayloadSignature =
  | { readonly kind: 'hash'; readonly sha256: string; readonly verified: boolean }
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'streaming'; readonly mode: StreamingMode };

export type StreamingMode =
  | 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
  | 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
  | 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

const STREAMING_MODES: ReadonlySet<string> = new Set<StreamingMode>([
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
]);

export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** `x-amz-date`. */
  readonly amzDate: string;
  /** `x-amz-security-token`, when sent. */
  readonly sessionToken?: string;
}

export interface VerifiedSignature extends ParsedAuthorization {
  readonly payload: PayloadSignature;
}

export interface VerifySignatureOptions {
  /** Milliseconds since epoch. @default the clock */
  readonly now?: number;
  /** The region the connection serves: a scope naming another is refused. @default any */
  readonly region?: string;
  /** The service (signing name) the connection serves. @default any */
  readonly service?: string;
}

const AMZ_DATE = /^(\d{8})T(\d{6})Z$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const SCOPE_PART = /^[a-z0-9-]+$/;
const QUERY_AUTH = ['x-amz-algorithm', 'x-amz-credential', 'x-amz-signature', 'x-amz-signedheaders', 'x-amz-date', 'x-amz-security-token', 'x-amz-expires'];

/**
 * Parses the authentication of a request without checking the signature: enough to find which
 * credential signed it. Throws GH_ERR_AWS_* for every form it refuses.
 */
export function parseAuthorization(request: SignedRequest): ParsedAuthorization {
  const byName = headerMap(request.headers);
  const queryNames = parseQuery(request.query).map(([k]) => k.toLowerCase());
  const queryAuth = queryNames.some((k) => QUERY_AUTH.includes(k) && k !== 'x-amz-date' && k !== 'x-amz-security-token');
  const auth = byName.get('authorization');
  // With header authentication, no authentication parameter may ride in the query (not even a date or a token).
  if (auth && queryNames.some((k) => QUERY_AUTH.includes(k))) throw new GatehouseError('GH_ERR_AWS_AUTH_AMBIGUOUS', 'the request carries both header and query authentication');
  if (queryAuth) throw new GatehouseError('GH_ERR_AWS_PRESIGNED_REFUSED', 'presigned requests are refused: their signature is the caller\'s, not the gateway\'s');
  if (!auth) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MISSING', 'the request carries no AWS Signature Version 4 authentication');
  for (const [name, values] of byName) {
    if ((name === 'authorization' || name.startsWith('x-amz-')) && values.length > 1) {
      throw new GatehouseError('GH_ERR_AWS_AUTH_AMBIGUOUS', `header ${name} is repeated`, { details: { header: name } });
    }
  }
  const parsed = parseAuthorizationHeader(auth[0]!);
  const amzDate = byName.get('x-amz-date')?.[0];
  if (amzDate === undefined || !AMZ_DATE.test(amzDate)) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MALFORMED', 'x-amz-date is missing or not YYYYMMDDTHHMMSSZ');
  const signed = new Set(parsed.signedHeaders);
  for (const required of ['host', 'x-amz-date']) {
    if (!signed.has(required)) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MALFORMED', `the signature must cover the ${required} header`, { details: { header: required } });
  }
  // Every x-amz-* header must be signed (as S3 requires): nothing that changes the call's meaning rides unsigned.
  for (const name of byName.keys()) {
    if (name.startsWith('x-amz-') && !signed.has(name)) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MALFORMED', `header ${name} is not signed`, { details: { header: name } });
  }
  for (const name of signed) {
    if (!byName.has(name)) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MALFORMED', `signed header ${name} is absent`, { details: { header: name } });
  }
  const token = byName.get('x-amz-security-token')?.[0];
  return { ...parsed, amzDate, ...(token === undefined ? {} : { sessionToken: token }) };
}

/**
 * Checks a parsed request's signature with the secret of its credential: the scope, the clock, the
 * payload hash, then the signature itself. Throws GH_ERR_AWS_* when anything does not hold.
 */
export function verifySignature(request: SignedRequest, parsed: ParsedAuthorization, secret: string, options: VerifySignatureOptions = {}): VerifiedSignature {
  const [, day, time] = AMZ_DATE.exec(parsed.amzDate)!;
  if (parsed.date !== day) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_SCOPE', 'the credential scope date is not the date of x-amz-date');
  if (options.region !== undefined && parsed.region !== options.region) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_SCOPE', `the credential scope names region ${parsed.region}, this connection serves ${options.region}`);
  if (options.service !== undefined && parsed.service !== options.service) throw new GatehouseError('GH_ERR_AWS_SIGNATURE_SCOPE', `the credential scope names service ${parsed.service}, this connection serves ${options.service}`);
  const signedAt = Date.UTC(+day!.slice(0, 4), +day!.slice(4, 6) - 1, +day!.slice(6, 8), +time!.slice(0, 2), +time!.slice(2, 4), +time!.slice(4, 6));
  const now = options.now ?? Date.now();
  if (!Number.isFinite(signedAt) || Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new GatehouseError('GH_ERR_AWS_REQUEST_TIME_SKEWED', 'x-amz-date is more than 15 minutes from the gateway\'s clock');
  }
  const byName = headerMap(request.headers);
  const payload = payloadSignature(byName.get('x-amz-content-sha256')?.[0], request.body);
  const hashedPayload = payload.kind === 'hash' ? payload.sha256 : payload.kind === 'unsigned' ? 'UNSIGNED-PAYLOAD' : payload.mode;
  const canonical = canonicalRequest(request, parsed.service, parsed.signedHeaders, byName, hashedPayload);
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`;
  const stringToSign = `${SIGV4_ALGORITHM}\n${parsed.amzDate}\n${scope}\n${sha256Hex(canonical)}`;
  const key = signingKey(secret, parsed.date, parsed.region, parsed.service);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(parsed.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MISMATCH', 'the request signature does not match (the request was changed, or signed with another secret)');
  }
  return { ...parsed, payload };
}

/** AWS's canonical request (exported for tests and for the re-signer). */
export function canonicalRequest(
  request: SignedRequest,
  service: string,
  signedHeaders: readonly string[],
  byName: ReadonlyMap<string, readonly string[]>,
  hashedPayload: string,
): string {
  const headers = signedHeaders.map((name) => `${name}:${byName.get(name)!.map(canonicalHeaderValue).join(',')}\n`).join('');
  return [request.method.toUpperCase(), canonicalPath(request.path, service), canonicalQuery(request.query), headers, signedHeaders.join(';'), hashedPayload].join('\n');
}

/** S3 signs the path as sent; other services the normalized path, each segment URI-encoded once more. */
export function canonicalPath(path: string, service: string): string {
  if (path === '') return '/';
  if (service === 's3') return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized).replace(/%2F/g, '/');
}

/** Query parameters decoded, re-encoded with AWS's rules, sorted by name then value; the signature itself left out. */
export function canonicalQuery(query: string): string {
  return parseQuery(query)
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Decoded query pairs; a pair without `=` has an empty value. `+` is a literal plus, as AWS reads it. */
export function parseQuery(query: string): [string, string][] {
  if (query === '') return [];
  return query.split('&').filter((p) => p !== '').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    return [decode(k), decode(v)];
  });
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new GatehouseError('GH_ERR_AWS_SIGNATURE_MALFORMED', 'the query string has an invalid percent escape');
  }
}

/** RFC 3986 unreserved characters stay; everything else is %XX in upper case (AWS's UriEncode). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalHeaderValue(v: string): string {
  return v.trim().replace(/\s+/g, ' ');
}

function headerMap(headers: readonly (readonly [string, string])[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    const list = map.get(lower);
    if (list) list.push(value);
    else map.set(lower, [value]);
  }
  return map;
}

function parseAuthorizationHeader(value: string): Omit<ParsedAuthorization, 'amzDate' | 'sessionToken'> {
  const malformed = (why: string) => new GatehouseError('GH_ERR_AWS_SIGNATURE_MALFORMED', `the Authorization header is malformed: ${why}`);
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) throw malformed(`algorithm must be ${SIGV4_ALGORITHM}`);
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    if (eq <= 0) throw malformed('expected Credential=, SignedHeaders= and Signature=');
    const key = item.slice(0, eq);
    if (fields.has(key)) throw malformed(`${key} is repeated`);
    fields.set(key, item.slice(eq + 1));
  }
  if (fields.size !== 3 || !fields.has('Credential') || !fields.has('SignedHeaders') || !fields.has('Signature')) throw malformed('expected exactly Credential=, SignedHeaders= and Signature=');
  const credential = fields.get('Credential')!.split('/');
  if (credential.length !== 5) throw malformed('Credential must be <key id>/<date>/<region>/<service>/aws4_request');
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  if (!/^\d{8}$/.test(date) || !SCOPE_PART.test(region) || !SCOPE_PART.test(service) || accessKeyId === '') throw malformed('Credential scope does not parse');
  if (terminator !== 'aws4_request') throw new GatehouseError('GH_ERR_AWS_SIGNATURE_SCOPE', 'the credential scope must end in aws4_request');
  const signedHeaders = fields.get('SignedHeaders')!.split(';');
  for (let i = 0; i < signedHeaders.length; i++) {
    if (!HEADER_NAME.test(signedHeaders[i]!)) throw malformed('SignedHeaders must be lower-case header names');
    if (i > 0 && signedHeaders[i - 1]! >= signedHeaders[i]!) throw malformed('SignedHeaders must be sorted and unique');
  }
  const signature = fields.get('Signature')!;
  if (!SIGNATURE.test(signature)) throw malformed('Signature must be 64 lower-case hex digits');
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

function payloadSignature(header: string | undefined, body: Uint8Array | undefined): PayloadSignature {
  if (header === undefined) {
    // Services other than S3 need not send the header: the signature then covers the body's hash.
    if (body === undefined) throw new GatehouseError('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', 'without x-amz-content-sha256 the body must be known to verify the signature');
    return { kind: 'hash', sha256: sha256Hex(body), verified: true };
  }
  if (header === 'UNSIGNED-PAYLOAD') return { kind: 'unsigned' };
  if (STREAMING_MODES.has(header)) return { kind: 'streaming', mode: header as StreamingMode };
  if (!SIGNATURE.test(header)) throw new GatehouseError('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', 'x-amz-content-sha256 is neither a SHA-256 nor a payload mode this gateway accepts');
  if (body === undefined) return { kind: 'hash', sha256: header, verified: false };
  if (sha256Hex(body) !== header) throw new GatehouseError('GH_ERR_AWS_PAYLOAD_HASH_MISMATCH', 'x-amz-content-sha256 does not match the body');
  return { kind: 'hash', sha256: header, verified: true };
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}
