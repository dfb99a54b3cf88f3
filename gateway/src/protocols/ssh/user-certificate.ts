import { randomBytes } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { GatehouseError } from '../../errors';
import type { Principal } from '../../identity/principal';
import { fingerprint, type SshPublicKey } from './host-key';

/**
 * Short-lived OpenSSH user certificates signed by the gateway (PROTOCOL.certkeys in OpenSSH's
 * source): what `gatehouse ssh-key` obtains, so that any replica holding the same CA key verifies
 * a client without shared state. ssh2 knows no certificates, so the few fields needed are encoded
 * and checked here; only ed25519 user keys are certified (what `gatehouse ssh-key` generates).
 *
 * The caller's principal (issuer, subject, groups, token expiry) rides in a signed extension,
 * `gatehouse-principal@gatehouse`: the certificate is the registration.
 */

export const CERT_ALGO_ED25519 = 'ssh-ed25519-cert-v01@openssh.com';
export const PRINCIPAL_EXTENSION = 'gatehouse-principal@gatehouse';
const SSH_CERT_TYPE_USER = 1;

class Writer {
  private readonly parts: Buffer[] = [];
  string(v: Buffer | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    this.parts.push(len, b);
    return this;
  }
  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  uint64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer {
    if (this.pos + 4 > this.buf.length) throw new Error('truncated');
    const len = this.buf.readUInt32BE(this.pos);
    if (this.pos + 4 + len > this.buf.length) throw new Error('truncated');
    const out = this.buf.subarray(this.pos + 4, this.pos + 4 + len);
    this.pos += 4 + len;
    return out;
  }
  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  uint64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new Error('truncated');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** Bytes read so far (the signed part of a certificate ends before its signature). */
  offset(): number {
    return this.pos;
  }
  atEnd(): boolean {
    return this.pos === this.buf.length;
  }
}

/** Why a presented certificate was refused (kept out of the client's answer: SSH says only "denied"). */
export type CertificateRefusal = 'malformed' | 'unsupported' | 'foreign_ca' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'not_user';

export type CertificateCheck =
  | { readonly ok: true; readonly principal: Principal; readonly key: SshPublicKey; readonly fingerprint: string; readonly expiresAt: Date; readonly serial: bigint }
  | { readonly ok: false; readonly reason: CertificateRefusal };

export interface IssuedCertificate {
  /** `ssh-ed25519-cert-v01@openssh.com AAAA… <comment>`: the `<key>-cert.pub` file OpenSSH reads beside `<key>`. */
  readonly line: string;
  readonly serial: bigint;
  readonly expiresAt: Date;
  /** Fingerprint of the certified user key. */
  readonly fingerprint: string;
}

function principalFromJson(text: string): Principal | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const p = v as Partial<Principal>;
  const str = (x: unknown) => typeof x === 'string';
  if (!str(p.issuer) || !str(p.issuerName) || !str(p.subject) || !str(p.name) || !str(p.tokenId)) return undefined;
  if (!Array.isArray(p.groups) || !p.groups.every(str)) return undefined;
  if (p.kind !== 'human' && p.kind !== 'workload' && p.kind !== 'dev') return undefined;
  if (p.expiresAt !== undefined && typeof p.expiresAt !== 'number') return undefined;
  return { issuer: p.issuer!, issuerName: p.issuerName!, subject: p.subject!, name: p.name!, groups: p.groups, kind: p.kind, tokenId: p.tokenId!, ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}) };
}

/** The gateway's user CA: issues and verifies certificates with one ed25519 key from the secret store. */
export class UserCertificateAuthority {
  private readonly key: ParsedKey;
  /** The CA's public blob (the certificate's `signature key`). */
  readonly publicBlob: Buffer;
  /** `ssh-ed25519 AAAA…`: what an OpenSSH server would trust as `TrustedUserCAKeys`. */
  readonly publicKey: string;

  constructor(privateKey: string) {
    const parsed = utils.parseKey(privateKey);
    if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey() || parsed.type !== 'ssh-ed25519') {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'listeners.ssh.userCaKey is not an unencrypted ed25519 private key');
    }
    this.key = parsed;
    this.publicBlob = parsed.getPublicSSH();
    this.publicKey = `ssh-ed25519 ${this.publicBlob.toString('base64')}`;
  }

  /** Certifies an ed25519 `userKey` for `principal` from `validAfter` until `validBefore`. */
  issue(userKey: SshPublicKey, principal: Principal, validAfter: Date, validBefore: Date): IssuedCertificate {
    if (userKey.algo !== 'ssh-ed25519') throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'only ed25519 keys are certified (generate one with `ssh-keygen -t ed25519`)');
    const pk = new Reader(userKey.blob);
    pk.string(); // the key's own type name
    const rawKey = pk.string();
    const serial = randomBytes(8).readBigUInt64BE(0);
    const extensions = new Writer().string(PRINCIPAL_EXTENSION).string(JSON.stringify(principal)).done();
    const body = new Writer()
      .string(CERT_ALGO_ED25519)
      .string(randomBytes(32))
      .string(rawKey)
      .uint64(serial)
      .uint32(SSH_CERT_TYPE_USER)
      .string(`gatehouse:${principal.issuerName}:${principal.subject}`)
      .string(new Writer().string(principal.subject).done())
      .uint64(BigInt(Math.floor(validAfter.getTime() / 1000)))
      .uint64(BigInt(Math.floor(validBefore.getTime() / 1000)))
      .string(Buffer.alloc(0)) // critical options: none
      .string(extensions)
      .string(Buffer.alloc(0)) // reserved
      .string(this.publicBlob)
      .done();
    const signature = new Writer().string('ssh-ed25519').string(this.key.sign(body)).done();
    const cert = Buffer.concat([body, new Writer().string(signature).done()]);
    return { line: `${CERT_ALGO_ED25519} ${cert.toString('base64')} gatehouse:${principal.subject}`, serial, expiresAt: new Date(Math.floor(validBefore.getTime() / 1000) * 1000), fingerprint: fingerprint(userKey.blob) };
  }

  /** Checks a certificate blob as presented in publickey authentication: format, our CA's signature, user type, validity at `now`. */
  verify(blob: Buffer, now: number): CertificateCheck {
    let r: Reader;
    let type: string;
    let rawKey: Buffer;
    let serial: bigint;
    let certType: number;
    let validAfter: bigint;
    let validBefore: bigint;
    let extensions: Buffer;
    let signatureKey: Buffer;
    let signed: Buffer;
    let signature: Buffer;
    try {
      r = new Reader(blob);
      type = r.string().toString('latin1');
      if (type !== CERT_ALGO_ED25519) return { ok: false, reason: 'unsupported' };
      r.string(); // nonce
      rawKey = r.string();
      serial = r.uint64();
      certType = r.uint32();
      r.string(); // key id
      r.string(); // valid principals: the target is chosen by the SSH user name (docs/ssh.md)
      validAfter = r.uint64();
      validBefore = r.uint64();
      const critical = r.string();
      extensions = r.string();
      r.string(); // reserved
      signatureKey = r.string();
      signed = blob.subarray(0, r.offset());
      signature = r.string();
      if (!r.atEnd() || rawKey.length !== 32) return { ok: false, reason: 'malformed' };
      // No critical option is understood here, so any present one refuses the certificate (as OpenSSH does).
      if (critical.length > 0) return { ok: false, reason: 'unsupported' };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!signatureKey.equals(this.publicBlob)) return { ok: false, reason: 'foreign_ca' };
    try {
      const s = new Reader(signature);
      if (s.string().toString('latin1') !== 'ssh-ed25519') return { ok: false, reason: 'bad_signature' };
      if (this.key.verify(signed, s.string()) !== true) return { ok: false, reason: 'bad_signature' };
    } catch {
      return { ok: false, reason: 'bad_signature' };
    }
    if (certType !== SSH_CERT_TYPE_USER) return { ok: false, reason: 'not_user' };
    const nowS = BigInt(Math.floor(now / 1000));
    if (nowS < validAfter) return { ok: false, reason: 'not_yet_valid' };
    if (nowS >= validBefore) return { ok: false, reason: 'expired' };
    let principal: Principal | undefined;
    try {
      const e = new Reader(extensions);
      while (!e.atEnd()) {
        const name = e.string().toString('utf8');
        const data = e.string();
        if (name === PRINCIPAL_EXTENSION) principal = principalFromJson(data.toString('utf8'));
      }
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (principal === undefined) return { ok: false, reason: 'malformed' };
    const userBlob = new Writer().string('ssh-ed25519').string(rawKey).done();
    return { ok: true, principal, key: { algo: 'ssh-ed25519', blob: userBlob }, fingerprint: fingerprint(userBlob), expiresAt: new Date(Number(validBefore) * 1000), serial };
  }
}

/**
 * Verifies the client's signature in publickey authentication with a certificate: ssh2 hands the
 * SSH signature blob (`string algo, string sig`) unconverted for certificate algorithms.
 */
export function verifyCertificateSignature(userKey: SshPublicKey, data: Buffer, sshSignature: Buffer): boolean {
  try {
    const s = new Reader(sshSignature);
    if (s.string().toString('latin1') !== 'ssh-ed25519') return false;
    const sig = s.string();
    const pub = utils.parseKey(`ssh-ed25519 ${userKey.blob.toString('base64')}`);
    if (pub instanceof Error || Array.isArray(pub)) return false;
    return pub.verify(data, sig) === true;
  } catch {
    return false;
  }
}
