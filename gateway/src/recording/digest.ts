import { canonicalJson, sha256Hex } from './chain';
import { verifySignature, type DigestSigner } from './signer';

/**
 * A digest attests, per gateway instance, every segment sealed since the previous digest and
 * chains to that digest. Stored bytes: canonical JSON (sorted keys) of the signed digest + "\n".
 * Signature: Ed25519 (or ECDSA P-256/SHA-256, DER, for a key in AWS KMS, Azure Key Vault or
 * Google Cloud KMS, named with its version in `keyRef`; the embedded public key says which) over `DIGEST_SIGNING_CONTEXT` + canonical JSON of the digest without `signature`.
 * The next digest's `previous.sha256` is SHA-256 of the stored bytes.
 */
export const DIGEST_VERSION = 1;
export const DIGEST_SIGNING_CONTEXT = 'gatehouse-digest-v1\n';

export interface DigestSessionEntry {
  readonly session: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly lastHash: string;
}

export interface DigestSegmentEntry {
  readonly key: string;
  /** SHA-256 hex of the segment's stored bytes. */
  readonly sha256: string;
  readonly bytes: number;
  readonly sessions: readonly DigestSessionEntry[];
  /**
   * Present and true when this recorder found the segment undigested, left by an earlier run of
   * the same instance (a crash): it attests the bytes as found at recovery, not as written.
   */
  readonly recovered?: boolean;
}

/** A session open when a digest was written, with its last stored event (crash recovery closes it). */
export interface OpenSessionEntry {
  readonly session: string;
  readonly seq: number;
  readonly hash: string;
}

export interface DigestBody {
  readonly version: number;
  readonly instanceId: string;
  readonly digestSeq: number;
  /** Identifies the recorder process that wrote it (changes on restart). */
  readonly runId: string;
  /** RFC 3339; equals the previous digest's `windowEnd` when there is one. */
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly previous: { readonly key: string; readonly sha256: string } | null;
  readonly segments: readonly DigestSegmentEntry[];
  /** Sessions open at `windowEnd`, each with its last stored event (absent in older digests). */
  readonly openSessions?: readonly OpenSessionEntry[];
  /**
   * Present and true on the digest that seals an instance's log: written by a clean shutdown, or
   * by the recovery that attested a crashed instance's tail (then `recoveredBy` names who).
   * Nothing of this instance may follow it but a later run's digests.
   */
  readonly final?: boolean;
  /** The instance (and run) that wrote this digest for a crashed instance. */
  readonly recoveredBy?: string;
  /**
   * Events acknowledged to callers (buffered mode) or accepted into the buffer that were never
   * stored since the previous digest: they are lost, and this says how many.
   */
  readonly lostEvents?: number;
  readonly keyId: string;
  /** The managed key that signed, version included (`DigestSigner.keyRef`); absent for a PEM key. */
  readonly keyRef?: string;
  readonly publicKey: string;
}

export interface SignedDigest extends DigestBody {
  /** Base64 signature: Ed25519, or DER ECDSA P-256/SHA-256 (see `verifySignature`). */
  readonly signature: string;
}

export function digestSigningBytes(body: DigestBody): Buffer {
  const { signature: _omit, ...rest } = body as SignedDigest;
  return Buffer.from(DIGEST_SIGNING_CONTEXT + canonicalJson(rest), 'utf8');
}

export async function signDigest(body: Omit<DigestBody, 'keyId' | 'keyRef' | 'publicKey' | 'version'>, signer: DigestSigner): Promise<{ digest: SignedDigest; bytes: Buffer; sha256: string }> {
  const full: DigestBody = { version: DIGEST_VERSION, ...body, keyId: signer.keyId, ...(signer.keyRef !== undefined ? { keyRef: signer.keyRef } : {}), publicKey: signer.publicKeyPem };
  const signature = (await signer.sign(digestSigningBytes(full))).toString('base64');
  const digest: SignedDigest = { ...full, signature };
  const bytes = Buffer.from(canonicalJson(digest) + '\n', 'utf8');
  return { digest, bytes, sha256: sha256Hex(bytes) };
}

export function verifyDigestSignature(digest: SignedDigest): boolean {
  return verifySignature(digest.publicKey, digestSigningBytes(digest), Buffer.from(digest.signature, 'base64'));
}

/** Parses and shape-checks a stored digest; throws an Error saying what is wrong. */
export function parseDigest(bytes: Buffer): SignedDigest {
  const d = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof d[k] !== 'string') throw new Error(`digest field ${k} missing or not a string`);
  };
  const int = (v: unknown, what: string) => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`digest field ${what} is not a non-negative integer`);
  };
  if (d.version !== DIGEST_VERSION) throw new Error(`unsupported digest version ${String(d.version)}`);
  for (const k of ['instanceId', 'runId', 'windowStart', 'windowEnd', 'keyId', 'publicKey', 'signature']) str(k);
  int(d.digestSeq, 'digestSeq');
  if (d.previous !== null) {
    const p = d.previous as Record<string, unknown> | undefined;
    if (typeof p !== 'object' || typeof p?.key !== 'string' || typeof p?.sha256 !== 'string') throw new Error('digest field previous is malformed');
  }
  if (d.keyRef !== undefined && typeof d.keyRef !== 'string') throw new Error('digest field keyRef is not a string');
  if (d.final !== undefined && typeof d.final !== 'boolean') throw new Error('digest field final is not a boolean');
  if (d.recoveredBy !== undefined && typeof d.recoveredBy !== 'string') throw new Error('digest field recoveredBy is not a string');
  if (d.lostEvents !== undefined) int(d.lostEvents, 'lostEvents');
  if (d.openSessions !== undefined) {
    if (!Array.isArray(d.openSessions)) throw new Error('digest field openSessions is not an array');
    for (const x of d.openSessions as Array<Record<string, unknown>>) {
      if (typeof x?.session !== 'string' || typeof x.hash !== 'string') throw new Error('digest open session entry is malformed');
      int(x.seq, 'openSessions[].seq');
    }
  }
  if (!Array.isArray(d.segments)) throw new Error('digest field segments is not an array');
  for (const s of d.segments as Array<Record<string, unknown>>) {
    if (typeof s?.key !== 'string' || typeof s.sha256 !== 'string' || !Array.isArray(s.sessions)) throw new Error('digest segment entry is malformed');
    int(s.bytes, 'segments[].bytes');
    for (const x of s.sessions as Array<Record<string, unknown>>) {
      if (typeof x?.session !== 'string' || typeof x.lastHash !== 'string') throw new Error('digest session entry is malformed');
      int(x.firstSeq, 'sessions[].firstSeq');
      int(x.lastSeq, 'sessions[].lastSeq');
    }
  }
  return d as unknown as SignedDigest;
}
