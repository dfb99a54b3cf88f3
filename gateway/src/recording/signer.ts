import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { GatehouseError } from '../errors';

/**
 * Signs digests. Implementations: `Ed25519Signer` (a PKCS#8 PEM from the secret store), and
 * ECDSA P-256 keys that never leave a cloud key service (signers/): `KmsEcdsaSigner` (AWS KMS),
 * `AzureKeyVaultSigner` (Azure Key Vault), `GcpKmsSigner` (Google Cloud KMS).
 * The verifier tells the algorithm from the embedded public key (`verifySignature`).
 */
export interface DigestSigner {
  /** Fingerprint of the public key (`keyIdOf`): lets a verifier match trusted keys. */
  readonly keyId: string;
  /** SPKI PEM of the public key; embedded in each digest. */
  readonly publicKeyPem: string;
  /**
   * The managed key that signs, exactly (version included): `aws-kms:<key arn>`,
   * `azure-kv-key:https://<vault>/keys/<name>/<version>`, `gcp-kms:projects/…/cryptoKeyVersions/<v>`.
   * Written into each digest, so `verify --trust-key <that key>` can require it. Absent for a PEM key.
   */
  readonly keyRef?: string;
  /** Signature of `bytes`: Ed25519 (64 bytes), or ECDSA P-256 over SHA-256(bytes), DER-encoded. */
  sign(bytes: Uint8Array): Promise<Buffer>;
}

/** The digest signature algorithm a public key implies, or undefined for keys digests never use. */
export function signatureAlgorithmOf(key: KeyObject): 'ed25519' | 'ecdsa-p256' | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  return undefined;
}

/**
 * `<algorithm>:` + the first 32 hex digits of SHA-256 over the SPKI DER of the public key:
 * `ed25519:…` or `ecdsa-p256:…`. Throws for any other kind of key.
 */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const algorithm = signatureAlgorithmOf(key);
  if (algorithm === undefined) throw new Error(`unsupported digest signing key type ${key.asymmetricKeyType ?? 'unknown'}`);
  const der = key.export({ type: 'spki', format: 'der' });
  return `${algorithm}:` + createHash('sha256').update(der).digest('hex').slice(0, 32);
}

export class Ed25519Signer implements DigestSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  private readonly key: KeyObject;

  /** @param privateKeyPem Ed25519 private key, PKCS#8 PEM. */
  constructor(privateKeyPem: string) {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: privateKeyPem, format: 'pem' });
    } catch (e) {
      // Never echo the key material.
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'recording signing key is not a readable PKCS#8 PEM private key', { cause: e });
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key must be Ed25519, got ${key.asymmetricKeyType ?? 'unknown'}`);
    }
    this.key = key;
    const pub = createPublicKey(key);
    this.publicKeyPem = pub.export({ type: 'spki', format: 'pem' }).toString();
    this.keyId = keyIdOf(pub);
  }

  async sign(bytes: Uint8Array): Promise<Buffer> {
    return cryptoSign(null, bytes, this.key);
  }
}

export interface DevSigningKey {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly keyId: string;
}

/** A fresh Ed25519 key pair for development; production takes the key from the secret store. */
export function generateDevSigningKey(): DevSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** False for a bad signature and for an unusable key (never throws). */
export function verifyEd25519(publicKeyPem: string, bytes: Uint8Array, signature: Buffer): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return cryptoVerify(null, bytes, key, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies a digest signature with the algorithm the public key implies: Ed25519, or ECDSA P-256
 * with SHA-256 and a DER signature (what AWS KMS `ECDSA_SHA_256` returns). False for a bad
 * signature and for an unusable or unsupported key (never throws).
 */
export function verifySignature(publicKeyPem: string, bytes: Uint8Array, signature: Buffer): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    switch (signatureAlgorithmOf(key)) {
      case 'ed25519':
        return cryptoVerify(null, bytes, key, signature);
      case 'ecdsa-p256':
        return cryptoVerify('sha256', bytes, { key, dsaEncoding: 'der' }, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
