import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand, type KMSClientConfig } from '@aws-sdk/client-kms';
import { GatehouseError } from '../../errors';
import { keyIdOf, signatureAlgorithmOf, verifySignature, type DigestSigner } from '../signer';

export const KMS_KEY_SCHEME = 'aws-kms';

export interface KmsEcdsaSignerOptions {
  /** The KMS key: key ARN (preferred), key id, alias name (`alias/x`) or alias ARN. */
  readonly keyId: string;
  /** @default the region named in `keyId` when it is an ARN; otherwise the SDK's (AWS_REGION) */
  readonly region?: string;
  /** Another KMS endpoint (tests, a VPC endpoint URL). @default the regional AWS endpoint */
  readonly endpoint?: string;
  /** Static credentials, for tests only. @default the SDK's chain (ECS task role, environment, ...) */
  readonly credentials?: KMSClientConfig['credentials'];
  /** Attempts per KMS call (the SDK's standard retry: throttling, 5xx, network). @default 3 */
  readonly maxAttempts?: number;
  /** Per attempt: time to connect. @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** Per attempt: time without a response. @default 10000 */
  readonly requestTimeoutMs?: number;
}

/** `aws-kms:<key arn | key id | alias>` → the key id to give KMS, and the region an ARN names. */
export function parseKmsKeyReference(ref: string): { keyId: string; region?: string } {
  const prefix = `${KMS_KEY_SCHEME}:`;
  const keyId = ref.startsWith(prefix) ? ref.slice(prefix.length) : '';
  if (keyId === '') {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `"${ref}" is not a KMS key reference such as "aws-kms:arn:aws:kms:<region>:<account>:key/<id>"`);
  }
  const arn = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\/.+$/.exec(keyId);
  return arn ? { keyId, region: arn[1]! } : { keyId };
}

/**
 * Signs digests with an asymmetric AWS KMS key of spec ECC_NIST_P256 (KMS offers no Ed25519).
 * The private key never leaves KMS: `create` reads the public key once (GetPublicKey) and checks
 * the key can sign ECDSA_SHA_256; `sign` hashes locally and sends only the 32-byte SHA-256 with
 * `MessageType: DIGEST` (a RAW message is limited to 4096 bytes, and digests grow past that).
 * The DER signature KMS returns is verified against the public key before it is used, so a
 * digest that would not verify is never written.
 */
export class KmsEcdsaSigner implements DigestSigner {
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** The KMS key this signer uses (as configured: ARN, id or alias). */
  readonly kmsKeyId: string;
  /** `aws-kms:<key arn>` as KMS names the key (an alias resolved); written into each digest. */
  readonly keyRef: string;

  private constructor(
    private readonly client: KMSClient,
    kmsKeyId: string,
    publicKey: KeyObject,
    keyArn: string,
  ) {
    this.kmsKeyId = kmsKeyId;
    this.keyRef = `${KMS_KEY_SCHEME}:${keyArn}`;
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keyId = keyIdOf(publicKey);
  }

  /** Reads and checks the public key. Throws GH_ERR_SECRET_UNAVAILABLE (unreachable, denied) or GH_ERR_CONFIG_INVALID (wrong kind of key). */
  static async create(options: KmsEcdsaSignerOptions): Promise<KmsEcdsaSigner> {
    const region = options.region ?? /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(options.keyId)?.[1];
    const client = new KMSClient({
      ...(region !== undefined ? { region } : {}),
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: options.connectionTimeoutMs ?? 3000, requestTimeout: options.requestTimeoutMs ?? 10000 },
    });
    const ref = `${KMS_KEY_SCHEME}:${options.keyId}`;
    try {
      let out;
      try {
        out = await client.send(new GetPublicKeyCommand({ KeyId: options.keyId }));
      } catch (e) {
        throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `recording signing key ${ref} is unavailable: GetPublicKey failed (${errorName(e)})`, {
          details: { ref, op: 'GetPublicKey', code: errorName(e) },
          cause: e,
        });
      }
      const invalid = (why: string) => new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key ${ref} ${why}`, { details: { ref } });
      if (out.KeyUsage !== undefined && out.KeyUsage !== 'SIGN_VERIFY') throw invalid(`has key usage ${out.KeyUsage}; it must be SIGN_VERIFY`);
      if (out.KeySpec !== undefined && out.KeySpec !== 'ECC_NIST_P256') throw invalid(`has key spec ${out.KeySpec}; it must be ECC_NIST_P256`);
      if (!out.SigningAlgorithms?.includes('ECDSA_SHA_256')) throw invalid('cannot sign with ECDSA_SHA_256');
      if (!out.PublicKey) throw invalid('came back without a public key');
      let publicKey: KeyObject;
      try {
        publicKey = createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
      } catch (e) {
        throw new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key ${ref} returned an unreadable public key`, { details: { ref }, cause: e });
      }
      if (signatureAlgorithmOf(publicKey) !== 'ecdsa-p256') throw invalid('is not a NIST P-256 key');
      return new KmsEcdsaSigner(client, options.keyId, publicKey, out.KeyId ?? options.keyId);
    } catch (e) {
      client.destroy();
      throw e;
    }
  }

  async sign(bytes: Uint8Array): Promise<Buffer> {
    const digest = createHash('sha256').update(bytes).digest();
    let signature: Buffer;
    try {
      const out = await this.client.send(new SignCommand({ KeyId: this.kmsKeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
      if (!out.Signature) throw new Error('KMS returned no signature');
      signature = Buffer.from(out.Signature);
    } catch (e) {
      throw new GatehouseError('GH_ERR_RECORDING_FAILED', `cannot sign the digest with KMS key ${this.kmsKeyId}: ${errorName(e)}`, {
        details: { signer: KMS_KEY_SCHEME, op: 'sign', reason: 'kms', code: errorName(e) },
        cause: e,
      });
    }
    if (!verifySignature(this.publicKeyPem, bytes, signature)) {
      throw new GatehouseError('GH_ERR_RECORDING_FAILED', `KMS key ${this.kmsKeyId} returned a signature that does not verify with its public key`, {
        details: { signer: KMS_KEY_SCHEME, op: 'sign', reason: 'signature-mismatch' },
      });
    }
    return signature;
  }

  close(): void {
    this.client.destroy();
  }
}

/** The AWS error name (`AccessDeniedException`, `NotFoundException`) or network code; never a message. */
function errorName(e: unknown): string {
  if (typeof e !== 'object' || e === null) return 'Error';
  const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
  if (typeof code === 'string') return code;
  if (name === 'Error' && typeof message === 'string') return /\b(E[A-Z]{4,})\b/.exec(message)?.[1] ?? 'Error';
  return typeof name === 'string' ? name : 'Error';
}
