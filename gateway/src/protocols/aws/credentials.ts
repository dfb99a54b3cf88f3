import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../../errors';
import type { Principal } from '../../identity';

/**
 * Gateway-issued caller credentials for AWS APIs (issue 20, point 2): worthless anywhere but at a
 * gateway holding the same key, verifiable statelessly on every replica.
 *
 * - The **session token** is a ticket: `GHGW1.<payload>.<mac>`, the payload a base64url JSON of the
 *   principal, the connection it is good for, issue and expiry times, a nonce and the key id; the MAC is
 *   HMAC-SHA256 under a key derived (HKDF) from the gateway key named by the key id.
 * - The **access key id** is `GHGW` + 16 base32 characters of a hash of the ticket: AWS-shaped (20
 *   characters), obviously not AWS's, bound to the ticket.
 * - The **secret** is HKDF(gateway key, nonce, ticket hash): only a holder of the gateway key can
 *   compute it, so only the gateway can check a SigV4 signature made with it.
 *
 * Key rotation: tickets name their key id; a keyring holds the current key (used to mint) and older
 * ones (still verified until dropped).
 */

/** The prefix of every gateway-issued access key id (AWS's start with AKIA/ASIA). */
export const ACCESS_KEY_PREFIX = 'GHGW';
const TICKET_PREFIX = 'GHGW1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_KEY_BYTES = 32;
/** Default life of a caller credential: one hour, never beyond the OIDC token it was exchanged for. */
export const DEFAULT_CREDENTIAL_TTL_SECONDS = 3600;
/** Longest life a caller may ask for (12 hours, as STS's longest sessions). */
export const MAX_CREDENTIAL_TTL_SECONDS = 12 * 3600;
/** Tolerated clock difference between replicas for a ticket's issue time. */
const ISSUED_SKEW_SECONDS = 300;

/** The gateway's ticket keys: `current` mints, every key in `keys` verifies. Never logged. */
export interface GatewayKeyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Uint8Array>;
}

/** What a caller gets (the shape of `credential_process` output, less its `Version`). */
export interface CallerCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** ISO 8601. */
  readonly expiration: string;
}

/** A verified caller credential. */
export interface VerifiedCallerCredential {
  readonly principal: Principal;
  /** The connection the credential was minted for. */
  readonly connection: string;
  /** The SigV4 secret to verify the request's signature with. Never logged or recorded. */
  readonly secret: string;
  readonly accessKeyId: string;
  /** Seconds since epoch. */
  readonly expiresAt: number;
}

interface TicketPayload {
  v: 1;
  kid: string;
  iss: string;
  isn: string;
  sub: string;
  nam: string;
  grp: string[];
  knd: Principal['kind'];
  tid: string;
  con: string;
  iat: number;
  exp: number;
  non: string;
}

/** Validates a keyring eagerly: key ids are short and plain, keys at least 256 bits, the current key present. */
export function createKeyring(current: string, keys: Readonly<Record<string, Uint8Array>>): GatewayKeyring {
  const map = new Map<string, Uint8Array>();
  for (const [id, key] of Object.entries(keys)) {
    if (!KEY_ID.test(id)) throw new GatehouseError('GH_ERR_CONFIG_INVALID', `AWS credential key id "${id}" must match ${KEY_ID}`);
    if (key.length < MIN_KEY_BYTES) throw new GatehouseError('GH_ERR_CONFIG_INVALID', `AWS credential key "${id}" has ${key.length} bytes; at least ${MIN_KEY_BYTES} are required`);
    map.set(id, Uint8Array.from(key));
  }
  if (!map.has(current)) throw new GatehouseError('GH_ERR_CONFIG_INVALID', `AWS credential keyring has no key "${current}" to mint with`);
  return { current, keys: map };
}

export interface MintOptions {
  /** Seconds. @default 3600, capped at 43200 and at the principal's own expiry */
  readonly ttlSeconds?: number;
  /** Seconds since epoch. @default the clock */
  readonly now?: number;
}

/** Mints a caller credential for a verified principal and one connection. */
export function mintCallerCredential(keyring: GatewayKeyring, principal: Principal, connection: string, options: MintOptions = {}): CallerCredential {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const ttl = options.ttlSeconds ?? DEFAULT_CREDENTIAL_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_CREDENTIAL_TTL_SECONDS) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `credential lifetime must be 1..${MAX_CREDENTIAL_TTL_SECONDS} seconds, got ${ttl}`);
  }
  // A caller credential never outlives the token it was exchanged for.
  const exp = principal.expiresAt === undefined ? now + ttl : Math.min(now + ttl, principal.expiresAt);
  if (exp <= now) throw new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'the token exchanged for AWS credentials has expired');
  const payload: TicketPayload = {
    v: 1,
    kid: keyring.current,
    iss: principal.issuer,
    isn: principal.issuerName,
    sub: principal.subject,
    nam: principal.name,
    grp: [...principal.groups],
    knd: principal.kind,
    tid: principal.tokenId,
    con: connection,
    iat: now,
    exp,
    non: randomBytes(16).toString('base64url'),
  };
  const key = keyring.keys.get(keyring.current)!;
  const body = `${TICKET_PREFIX}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const sessionToken = `${body}.${mac(key, body).toString('base64url')}`;
  return {
    accessKeyId: accessKeyIdFor(sessionToken),
    secretAccessKey: secretFor(key, payload.non, sessionToken),
    sessionToken,
    expiration: new Date(exp * 1000).toISOString(),
  };
}

export interface VerifyOptions {
  /** Seconds since epoch. @default the clock */
  readonly now?: number;
  /** The connection the request arrived on: a credential minted for another is refused. @default not checked */
  readonly connection?: string;
}

/**
 * Verifies a caller credential: the ticket's MAC under its key id, its expiry, the access key id it
 * derives, the connection. Throws a GatehouseError with a stable GH_ERR_AWS_CREDENTIAL_* code;
 * messages never echo the token.
 */
export function verifyCallerCredential(keyring: GatewayKeyring, accessKeyId: string, sessionToken: string | undefined, options: VerifyOptions = {}): VerifiedCallerCredential {
  if (!accessKeyId.startsWith(ACCESS_KEY_PREFIX) || accessKeyId.length !== 20) {
    throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_FOREIGN', 'the access key id was not issued by this gateway (use `gatehouse aws-credentials`)');
  }
  if (sessionToken === undefined || !sessionToken.startsWith(`${TICKET_PREFIX}.`)) {
    throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_FOREIGN', 'the request carries no gateway-issued session token');
  }
  const parts = sessionToken.split('.');
  if (parts.length !== 3) throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_INVALID', 'the session token does not parse');
  const body = `${parts[0]}.${parts[1]}`;
  let payload: TicketPayload;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TicketPayload;
  } catch {
    throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_INVALID', 'the session token does not parse');
  }
  const kid = typeof payload?.kid === 'string' ? payload.kid : undefined;
  const key = kid === undefined ? undefined : keyring.keys.get(kid);
  if (!key) throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_KEY_UNKNOWN', 'the session token was sealed with a key this gateway does not hold', { details: { keyId: kid === undefined ? null : kid.slice(0, 32) } });
  const expected = mac(key, body);
  const given = Buffer.from(parts[2]!, 'base64url');
  // The MAC is checked before any claim is trusted.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_INVALID', 'the session token fails its integrity check');
  }
  if (!wellFormed(payload)) throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_INVALID', 'the session token does not parse');
  const derived = Buffer.from(accessKeyIdFor(sessionToken));
  const presented = Buffer.from(accessKeyId);
  if (derived.length !== presented.length || !timingSafeEqual(derived, presented)) {
    throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_INVALID', 'the access key id does not belong to the session token');
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (payload.exp <= now) throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_EXPIRED', 'the AWS caller credential has expired: fetch new ones (`gatehouse aws-credentials`)');
  if (payload.iat > now + ISSUED_SKEW_SECONDS) throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_INVALID', 'the session token is issued in the future');
  if (options.connection !== undefined && payload.con !== options.connection) {
    throw new GatehouseError('GH_ERR_AWS_CREDENTIAL_SCOPE', 'the AWS caller credential was issued for another connection');
  }
  return {
    principal: {
      issuer: payload.iss,
      issuerName: payload.isn,
      subject: payload.sub,
      name: payload.nam,
      groups: payload.grp,
      kind: payload.knd,
      expiresAt: payload.exp,
      tokenId: payload.tid,
    },
    connection: payload.con,
    secret: secretFor(key, payload.non, sessionToken),
    accessKeyId,
    expiresAt: payload.exp,
  };
}

function mac(key: Uint8Array, body: string): Buffer {
  return createHmac('sha256', derive(key, Buffer.alloc(0), 'gatehouse aws ticket mac v1', 32)).update(body).digest();
}

function derive(key: Uint8Array, salt: Uint8Array, info: string | Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, info, length));
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function accessKeyIdFor(sessionToken: string): string {
  const digest = createHash('sha256').update('gatehouse aws access key id v1\0').update(sessionToken).digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest.subarray(0, 10)) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `${ACCESS_KEY_PREFIX}${out}`;
}

function secretFor(key: Uint8Array, nonce: string, sessionToken: string): string {
  const ticketHash = createHash('sha256').update(sessionToken).digest();
  const info = Buffer.concat([Buffer.from('gatehouse aws secret v1\0'), ticketHash]);
  // 30 bytes → 40 base64 characters: the length of an AWS secret access key.
  return derive(key, Buffer.from(nonce, 'base64url'), info, 30).toString('base64');
}

function wellFormed(p: TicketPayload): boolean {
  const str = (v: unknown): v is string => typeof v === 'string';
  return (
    p.v === 1 &&
    str(p.iss) && str(p.isn) && str(p.sub) && str(p.nam) && str(p.tid) && str(p.con) && str(p.non) &&
    Array.isArray(p.grp) && p.grp.every(str) &&
    (p.knd === 'human' || p.knd === 'workload' || p.knd === 'dev') &&
    Number.isInteger(p.iat) && Number.isInteger(p.exp)
  );
}

/**
 * Reads a keyring from its secret value: `{"current": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}`
 * (one secret in the secret store, so every replica holds the same keys). Errors name the problem,
 * never the key bytes.
 */
export function parseKeyring(text: string): GatewayKeyring {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the AWS credential keyring secret is not JSON');
  }
  const obj = parsed as { current?: unknown; keys?: unknown };
  if (typeof obj?.current !== 'string' || obj.keys === null || typeof obj.keys !== 'object' || Array.isArray(obj.keys)) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the AWS credential keyring secret must be {"current": "<key id>", "keys": {"<key id>": "<base64 key>"}}');
  }
  const keys: Record<string, Uint8Array> = {};
  for (const [id, value] of Object.entries(obj.keys as Record<string, unknown>)) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) throw new GatehouseError('GH_ERR_CONFIG_INVALID', `AWS credential key "${id.slice(0, 32)}" is not base64`);
    keys[id] = Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64');
  }
  return createKeyring(obj.current, keys);
}

/** The `credential_process` answer for `~/.aws/config` (Version 1, as the SDKs and the CLI read it). */
export function credentialProcessOutput(c: CallerCredential): { Version: 1; AccessKeyId: string; SecretAccessKey: string; SessionToken: string; Expiration: string } {
  return { Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration };
}
