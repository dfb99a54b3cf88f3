import { createHash, timingSafeEqual } from 'node:crypto';
import { utils } from 'ssh2';
import { GatehouseError } from '../../errors';

/** An SSH public key as the wire carries it: algorithm name and key blob. */
export interface SshPublicKey {
  readonly algo: string;
  readonly blob: Buffer;
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` + unpadded base64 of its SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Parses a public key in OpenSSH's one-line form (`ssh-ed25519 AAAA… comment`, as in
 * authorized_keys or a known_hosts entry without its host). Throws GH_ERR_REQUEST_INVALID.
 */
export function parsePublicKey(line: string): SshPublicKey {
  const parsed = utils.parseKey(line.trim());
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey()) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'not an SSH public key (expected e.g. "ssh-ed25519 AAAA…")');
  }
  return { algo: parsed.type, blob: parsed.getPublicSSH() };
}

/** Constant-time equality of two key blobs (a mismatch must not say where). */
export function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The gateway's own host key, from its secret (OpenSSH or PEM private key, no passphrase): the
 * private key for ssh2's server and its public fingerprint for `known_hosts` and the docs.
 */
export function loadHostKey(privateKey: string): { readonly privateKey: string; readonly publicKey: string; readonly fingerprint: string } {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'the SSH host key secret is not an unencrypted private key');
  }
  const blob = parsed.getPublicSSH();
  return { privateKey, publicKey: `${parsed.type} ${blob.toString('base64')}`, fingerprint: fingerprint(blob) };
}
