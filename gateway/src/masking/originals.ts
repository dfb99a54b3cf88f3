import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors';

/**
 * Encrypted originals: when a connection opts into `storeOriginals`, the unmasked content is
 * stored beside the masked copy, sealed with AES-256-GCM under a key from the secret store. The
 * record carries the key's id (a fingerprint), never the key. `context` names where the original
 * belongs (session, request, field) and is bound as additional authenticated data, so a sealed
 * original moved to another place in the record no longer opens as if it belonged there.
 */
export interface SealedOriginal {
  readonly v: 1;
  readonly alg: 'AES-256-GCM';
  /** Which key sealed it (see originalsKeyId). */
  readonly kid: string;
  /** Bound as additional authenticated data. */
  readonly context: string;
  /** base64 */
  readonly iv: string;
  /** base64 */
  readonly tag: string;
  /** base64 ciphertext */
  readonly data: string;
}

export interface OriginalsSealer {
  readonly keyId: string;
  seal(data: Buffer | string, context: string): SealedOriginal;
}

const KEY_BYTES = 32;

function keyError(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_CONFIG_INVALID', message, { details: { path: 'masking.originalsKey' } });
}

/** A 32-byte key from a secret's text: 64 hex characters or base64 (standard or url-safe). */
export function originalsKeyFromSecret(secret: string): Buffer {
  const text = secret.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  // Never echo the value: it is the key (or a mistake close to it).
  throw keyError('the masking originals key must be 32 bytes, given as 64 hex characters or base64');
}

/** A stable, non-secret id for a key: a truncated SHA-256 over a labelled copy of it. */
export function originalsKeyId(key: Buffer): string {
  return `sha256:${createHash('sha256').update('gatehouse-originals-key-id\u0000').update(key).digest('hex').slice(0, 16)}`;
}

export function createOriginalsSealer(key: Buffer, keyId?: string): OriginalsSealer {
  if (key.length !== KEY_BYTES) throw keyError('the masking originals key must be 32 bytes');
  const k = Buffer.from(key);
  const kid = keyId ?? originalsKeyId(k);
  return {
    keyId: kid,
    seal(data: Buffer | string, context: string): SealedOriginal {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const plain = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
      return { v: 1, alg: 'AES-256-GCM', kid, context, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: ct.toString('base64') };
    },
  };
}

/**
 * Decrypts a sealed original (for `gatehouse sessions show --originals` and tests). With
 * `expectedContext`, an original found elsewhere than where it was sealed is refused.
 * Throws GH_ERR_FORBIDDEN when the key is wrong or the data was altered.
 */
export function openOriginal(sealed: SealedOriginal, key: Buffer | string, expectedContext?: string): Buffer {
  const k = typeof key === 'string' ? originalsKeyFromSecret(key) : key;
  if (sealed.v !== 1 || sealed.alg !== 'AES-256-GCM') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'unsupported sealed original format');
  if (expectedContext !== undefined && sealed.context !== expectedContext) {
    throw new GatehouseError('GH_ERR_FORBIDDEN', 'the sealed original belongs to another place in the record');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', k, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(sealed.context, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
  } catch {
    throw new GatehouseError('GH_ERR_FORBIDDEN', `the sealed original does not open with this key (sealed with ${sealed.kid})`);
  }
}

export function isSealedOriginal(v: unknown): v is SealedOriginal {
  return typeof v === 'object' && v !== null && (v as { alg?: unknown }).alg === 'AES-256-GCM' && typeof (v as { data?: unknown }).data === 'string';
}
