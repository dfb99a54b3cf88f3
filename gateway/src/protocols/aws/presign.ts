import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../../errors';
import type { Principal } from '../../identity';
import type { GatewayKeyring } from './credentials';

/**
 * Gateway-signed presigned URLs (issue 20, point 3; docs/aws-apis.md "Presigned URLs").
 *
 * A client's own presigned URL is refused: its signature is made with the caller's gateway
 * credential, which AWS does not know, and passing it on would need the gateway to sign a URL
 * for the real endpoint with the brokered credential, which anyone holding it could then use
 * directly, unjudged and unrecorded, until it expired. Instead the gateway issues a URL that points
 * at itself (`gatehouse aws presign`, `POST /.well-known/gatehouse/aws-presign`): its query carries
 * a ticket `GHPS1.<payload>.<mac>` bound to the connection, method, operation, bucket, key, expiry
 * and caller, authenticated with HMAC-SHA256 under a key derived (HKDF, its own label) from the
 * connection's keyring, so any replica verifies it statelessly. Each use is judged again for the
 * caller named in the ticket, re-signed upstream with the brokered credential and recorded like
 * any call; the brokered credential never leaves the gateway.
 */
export const PRESIGN_PARAM = 'X-Gatehouse-Presign';
const TICKET_PREFIX = 'GHPS1';
/** @default lifetime of a presigned URL, in seconds. */
export const DEFAULT_PRESIGN_SECONDS = 300;
/** Longest lifetime (S3's own presigned URLs go to 7 days; a gateway ticket is a bearer credential: one hour). */
export const MAX_PRESIGN_SECONDS = 3600;
const ISSUED_SKEW_SECONDS = 300;

/** The operations a presigned URL may carry, by method (S3's object download and upload). */
export const PRESIGN_OPERATIONS: Readonly<Record<string, string>> = { GET: 'GetObject', PUT: 'PutObject' };

export interface PresignGrant {
  readonly connection: string;
  readonly method: 'GET' | 'PUT';
  /** `GetObject` or `PutObject`. */
  readonly operation: string;
  readonly bucket: string;
  readonly key: string;
}

export interface PresignTicket extends PresignGrant {
  /** Random id, recorded at issuance and on each use. */
  readonly id: string;
  readonly principal: Principal;
  /** Seconds since epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

interface Payload {
  v: 1;
  kid: string;
  jti: string;
  con: string;
  mth: string;
  op: string;
  bkt: string;
  key: string;
  iss: string;
  isn: string;
  sub: string;
  nam: string;
  grp: string[];
  knd: Principal['kind'];
  tid: string;
  iat: number;
  exp: number;
}

/** Mints a ticket; its life never goes beyond the caller's token. Returns the ticket string and its claims. */
export function mintPresignTicket(keyring: GatewayKeyring, principal: Principal, grant: PresignGrant, options: { readonly ttlSeconds?: number; readonly now?: number } = {}): { readonly ticket: string; readonly claims: PresignTicket } {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const ttl = options.ttlSeconds ?? DEFAULT_PRESIGN_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_PRESIGN_SECONDS) throw new GatehouseError('GH_ERR_REQUEST_INVALID', `a presigned URL lives 1..${MAX_PRESIGN_SECONDS} seconds, not ${ttl}`);
  const exp = principal.expiresAt === undefined ? now + ttl : Math.min(now + ttl, principal.expiresAt);
  if (exp <= now) throw new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'the token asking for a presigned URL has expired');
  const payload: Payload = {
    v: 1,
    kid: keyring.current,
    jti: randomBytes(12).toString('base64url'),
    con: grant.connection,
    mth: grant.method,
    op: grant.operation,
    bkt: grant.bucket,
    key: grant.key,
    iss: principal.issuer,
    isn: principal.issuerName,
    sub: principal.subject,
    nam: principal.name,
    grp: [...principal.groups],
    knd: principal.kind,
    tid: principal.tokenId,
    iat: now,
    exp,
  };
  const body = `${TICKET_PREFIX}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const ticket = `${body}.${mac(keyring.keys.get(keyring.current)!, body).toString('base64url')}`;
  return { ticket, claims: claimsOf(payload) };
}

/**
 * Verifies a ticket for the connection it is presented to: its MAC (before any claim is read), its
 * shape, issue time and expiry. Binding to method, bucket and key is checked against the request
 * by the dialect, once the request's operation is derived. Throws GH_ERR_AWS_PRESIGN_INVALID.
 */
export function verifyPresignTicket(keyring: GatewayKeyring, ticket: string, connection: string, now: number = Math.floor(Date.now() / 1000)): PresignTicket {
  const parts = ticket.split('.');
  if (parts.length !== 3 || parts[0] !== TICKET_PREFIX) throw invalid('the presigned URL carries no gateway ticket');
  let payload: Payload;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Payload;
  } catch {
    throw invalid('the presigned URL\'s ticket does not parse');
  }
  const key = typeof payload?.kid === 'string' ? keyring.keys.get(payload.kid) : undefined;
  if (key === undefined) throw invalid('the presigned URL was signed with a key this gateway does not hold');
  const expected = mac(key, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid('the presigned URL fails its integrity check');
  if (!wellFormed(payload)) throw invalid('the presigned URL\'s ticket does not parse');
  if (payload.exp <= now) throw invalid('the presigned URL has expired');
  if (payload.iat > now + ISSUED_SKEW_SECONDS) throw invalid('the presigned URL is issued in the future');
  if (payload.con !== connection) throw invalid('the presigned URL was issued for another connection');
  return claimsOf(payload);
}

function claimsOf(p: Payload): PresignTicket {
  return {
    id: p.jti,
    connection: p.con,
    method: p.mth as 'GET' | 'PUT',
    operation: p.op,
    bucket: p.bkt,
    key: p.key,
    principal: { issuer: p.iss, issuerName: p.isn, subject: p.sub, name: p.nam, groups: p.grp, kind: p.knd, expiresAt: p.exp, tokenId: p.tid },
    issuedAt: p.iat,
    expiresAt: p.exp,
  };
}

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_AWS_PRESIGN_INVALID', message);
}

/** Its own derived key: a caller-credential ticket's MAC never verifies as a presign ticket's, nor the reverse. */
function mac(key: Uint8Array, body: string): Buffer {
  return createHmac('sha256', Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'gatehouse aws presign mac v1', 32))).update(body).digest();
}

function wellFormed(p: Payload): boolean {
  const str = (v: unknown): v is string => typeof v === 'string';
  return (
    p.v === 1 &&
    str(p.jti) && str(p.con) && str(p.bkt) && str(p.key) && str(p.iss) && str(p.isn) && str(p.sub) && str(p.nam) && str(p.tid) &&
    Object.hasOwn(PRESIGN_OPERATIONS, p.mth) && PRESIGN_OPERATIONS[p.mth] === p.op &&
    Array.isArray(p.grp) && p.grp.every(str) &&
    (p.knd === 'human' || p.knd === 'workload' || p.knd === 'dev') &&
    Number.isInteger(p.iat) && Number.isInteger(p.exp)
  );
}
