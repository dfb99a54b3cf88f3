import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * Ed25519 key pairs in OpenSSH's own formats: the `openssh-key-v1` private key file (unencrypted)
 * and the one-line public key. Written here rather than with ssh2's `utils.generateKeyPairSync`,
 * which strips leading zero bytes from the 32-byte public key: one key in 256 came out malformed
 * ("Malformed OpenSSH public key"), so `gatehouse ssh-key` failed at random.
 */
export interface OpenSshKeyPair {
  /** The private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`). */
  readonly private: string;
  /** `ssh-ed25519 AAAA… comment`. */
  readonly public: string;
}

const KEY_TYPE = 'ssh-ed25519';
const AUTH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** A fresh Ed25519 key pair in OpenSSH's formats. */
export function generateOpenSshEd25519(comment: string): OpenSshKeyPair {
  return openSshEd25519(generateKeyPairSync('ed25519').privateKey, comment);
}

/** An Ed25519 private key (node's KeyObject) in OpenSSH's formats. */
export function openSshEd25519(privateKey: KeyObject, comment: string): OpenSshKeyPair {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new TypeError('not an Ed25519 private key');
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  // Ed25519 keys are exactly 32 bytes, whatever their first byte: never trimmed.
  if (seed.length !== 32 || pub.length !== 32) throw new TypeError('an Ed25519 key is 32 bytes');
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
  const check = randomBytes(4);
  const body = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  // Padded with 1, 2, 3, … to the cipher's block size (8 for "none").
  const pad = (8 - (body.length % 8)) % 8;
  const padding = Buffer.from(Array.from({ length: pad }, (_, i) => i + 1));
  const file = Buffer.concat([AUTH_MAGIC, sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(publicBlob), sshString(Buffer.concat([body, padding]))]);
  const lines = file.toString('base64').match(/.{1,70}/g)!;
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `${KEY_TYPE} ${publicBlob.toString('base64')}${comment === '' ? '' : ` ${comment}`}`,
  };
}

/** The Ed25519 private key with this 32-byte seed (PKCS #8 DER: RFC 8410's fixed prefix, then the seed). */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new TypeError('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

/** The raw 32-byte public key of an Ed25519 private key. */
export function ed25519PublicBytes(privateKey: KeyObject): Buffer {
  return Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
}

function sshString(v: string | Buffer): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([uint32(b.length), b]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
