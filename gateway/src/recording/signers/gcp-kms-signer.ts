import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { GatehouseError } from '../../errors';
import { keyIdOf, signatureAlgorithmOf, verifySignature, type DigestSigner } from '../signer';
import { crc32c } from './crc32c';
import { codeOf, RestCallError, restJson, signFailure, type RestCallOptions } from './rest-call';

export const GCP_KMS_SCHEME = 'gcp-kms';
export const GCP_KMS_ENDPOINT = 'https://cloudkms.googleapis.com';
const CLOUDKMS_SCOPE = 'https://www.googleapis.com/auth/cloudkms';
/** The one Cloud KMS algorithm digests use: ECDSA on P-256 over a SHA-256 digest. */
const ALGORITHM = 'EC_SIGN_P256_SHA256';

/** What the signer needs of google-auth-library's `GoogleAuth` (or any other token source). */
export interface GoogleAccessTokenSource {
  getAccessToken(): Promise<string | null | undefined>;
}

export interface GcpKmsKeyOptions {
  /** `gcp-kms:projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<v>`. */
  readonly keyRef: string;
  /** @default new GoogleAuth({ scopes: cloudkms }): Application Default Credentials (the Cloud Run service account) */
  readonly auth?: GoogleAccessTokenSource;
  /** Another Cloud KMS endpoint (tests, Private Service Connect). @default https://cloudkms.googleapis.com */
  readonly endpoint?: string;
  /** Attempts per call (throttling, 5xx, network, a checksum mismatch in transit). @default 3 */
  readonly attempts?: number;
  /** Per attempt. @default 10000 */
  readonly timeoutMs?: number;
}

// Project ids, numbers and legacy domain-scoped ids (`example.com:p`); ring and key ids are
// letters, digits, `_` and `-`; versions are numbered from 1.
const NAME = /^projects\/[A-Za-z0-9.:-]+\/locations\/[a-z0-9-]+\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}\/cryptoKeyVersions\/[1-9][0-9]*$/;

/** `gcp-kms:projects/…/cryptoKeyVersions/<v>` → the key version's resource name. A version is required. */
export function parseGcpKmsKeyReference(ref: string): string {
  const name = ref.startsWith(`${GCP_KMS_SCHEME}:`) ? ref.slice(GCP_KMS_SCHEME.length + 1) : '';
  if (!NAME.test(name)) {
    throw new GatehouseError(
      'GH_ERR_CONFIG_INVALID',
      `"${ref}" is not a Cloud KMS key version reference such as "gcp-kms:projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<v>"`,
    );
  }
  return name;
}

/**
 * Reads a Cloud KMS key version's public key (`GET v1/{name}/publicKey`,
 * https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys.cryptoKeyVersions/getPublicKey),
 * checks its `pemCrc32c` (https://cloud.google.com/kms/docs/data-integrity-guidelines) and that its
 * algorithm is EC_SIGN_P256_SHA256. Throws GH_ERR_SECRET_UNAVAILABLE (unreachable, denied, unknown,
 * disabled) or GH_ERR_CONFIG_INVALID (wrong kind of key).
 */
export async function readGcpKmsPublicKey(options: GcpKmsKeyOptions): Promise<{ keyRef: string; name: string; publicKey: KeyObject }> {
  const name = parseGcpKmsKeyReference(options.keyRef);
  const call = callOptions(options);
  const token = await tokenSource(options);
  const unavailable = (e: unknown) =>
    new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `recording signing key ${options.keyRef} is unavailable: getPublicKey failed (${codeOf(e)})`, {
      details: { ref: options.keyRef, op: 'getPublicKey', code: e instanceof RestCallError ? e.code : codeOf(e), ...(e instanceof RestCallError && e.status !== undefined ? { status: e.status } : {}) },
      cause: e,
    });
  let out: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < call.attempts && out === undefined; attempt++) {
    let answer: Record<string, unknown>;
    try {
      answer = await restJson({ method: 'GET', url: `${base(options)}/v1/${name}/publicKey`, token }, call);
    } catch (e) {
      throw unavailable(e);
    }
    // A checksum that does not match is corruption in transit: Google's guidance is to retry.
    const integrity = typeof answer.pem === 'string' && (answer.pemCrc32c === undefined || Number(answer.pemCrc32c) === crc32c(Buffer.from(answer.pem, 'utf8')));
    if (integrity) out = answer;
    else if (attempt === call.attempts - 1) throw unavailable(new RestCallError(200, 'pem-crc32c-mismatch'));
  }
  const invalid = (why: string) => new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key ${options.keyRef} ${why}`, { details: { ref: options.keyRef } });
  if (out!.name !== undefined && out!.name !== name) throw invalid(`came back as ${String(out!.name)}, not the key version asked for`);
  if (out!.algorithm !== ALGORITHM) throw invalid(`has algorithm ${String(out!.algorithm)}; it must be ${ALGORITHM}`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(out!.pem as string);
  } catch (e) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key ${options.keyRef} returned an unreadable public key`, { details: { ref: options.keyRef }, cause: e });
  }
  if (signatureAlgorithmOf(publicKey) !== 'ecdsa-p256') throw invalid('is not a NIST P-256 key');
  return { keyRef: `${GCP_KMS_SCHEME}:${name}`, name, publicKey };
}

/**
 * Signs digests with a Cloud KMS asymmetric key version of algorithm EC_SIGN_P256_SHA256; the
 * private key never leaves Cloud KMS. `sign` hashes locally and calls `asymmetricSign`
 * (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys.cryptoKeyVersions/asymmetricSign)
 * with the digest and its `digestCrc32c`, then does what the data integrity guidelines ask: the
 * response must say `verifiedDigestCrc32c: true`, name the key version asked for, and carry a
 * `signatureCrc32c` that matches the signature; otherwise the call is retried, then refused.
 * Cloud KMS returns ECDSA signatures DER-encoded (https://cloud.google.com/kms/docs/create-validate-signatures),
 * the digest format's encoding; each is verified against the public key before it is used.
 */
export class GcpKmsSigner implements DigestSigner {
  readonly keyId: string;
  readonly keyRef: string;
  readonly publicKeyPem: string;

  private constructor(
    private readonly name: string,
    publicKey: KeyObject,
    private readonly signUrl: string,
    private readonly token: () => Promise<string>,
    private readonly call: RestCallOptions,
  ) {
    this.keyRef = `${GCP_KMS_SCHEME}:${name}`;
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keyId = keyIdOf(publicKey);
  }

  static async create(options: GcpKmsKeyOptions): Promise<GcpKmsSigner> {
    const { name, publicKey } = await readGcpKmsPublicKey(options);
    return new GcpKmsSigner(name, publicKey, `${base(options)}/v1/${name}:asymmetricSign`, await tokenSource(options), callOptions(options));
  }

  async sign(bytes: Uint8Array): Promise<Buffer> {
    const digest = createHash('sha256').update(bytes).digest();
    const body = { digest: { sha256: digest.toString('base64') }, digestCrc32c: String(crc32c(digest)) };
    let failure: { reason: string; message: string } | undefined;
    for (let attempt = 0; attempt < this.call.attempts; attempt++) {
      let out: Record<string, unknown>;
      try {
        out = await restJson({ method: 'POST', url: this.signUrl, token: this.token, body }, this.call);
      } catch (e) {
        throw signFailure(this.keyRef, 'unavailable', `cannot sign the digest with Cloud KMS key ${this.name}: ${codeOf(e)}`, e);
      }
      if (out.verifiedDigestCrc32c !== true) {
        failure = { reason: 'integrity', message: `Cloud KMS did not confirm the digest's CRC32C (verifiedDigestCrc32c is ${String(out.verifiedDigestCrc32c)}) for ${this.name}` };
        continue;
      }
      if (out.name !== this.name) {
        // Not a transit error: the service answered for another key version.
        throw signFailure(this.keyRef, 'wrong-key', `Cloud KMS answered for ${String(out.name)}, not ${this.name}`);
      }
      const signature = typeof out.signature === 'string' ? Buffer.from(out.signature, 'base64') : undefined;
      if (!signature || signature.length === 0 || out.signatureCrc32c === undefined || Number(out.signatureCrc32c) !== crc32c(signature)) {
        failure = { reason: 'integrity', message: `Cloud KMS key ${this.name} returned a signature whose CRC32C does not match signatureCrc32c` };
        continue;
      }
      if (!verifySignature(this.publicKeyPem, bytes, signature)) {
        throw signFailure(this.keyRef, 'signature-mismatch', `Cloud KMS key ${this.name} returned a signature that does not verify with its public key`);
      }
      return signature;
    }
    throw signFailure(this.keyRef, failure!.reason, failure!.message);
  }
}

function base(options: GcpKmsKeyOptions): string {
  return (options.endpoint ?? GCP_KMS_ENDPOINT).replace(/\/+$/, '');
}

function callOptions(options: GcpKmsKeyOptions): RestCallOptions {
  return { attempts: options.attempts ?? 3, timeoutMs: options.timeoutMs ?? 10000 };
}

async function tokenSource(options: GcpKmsKeyOptions): Promise<() => Promise<string>> {
  let auth = options.auth;
  if (!auth) {
    const { GoogleAuth } = await import('google-auth-library');
    // The key's project, so the library need not discover one (it would run `gcloud` or ask the
    // metadata server); it is not sent as a quota project.
    const projectId = /^gcp-kms:projects\/([^/]+)\//.exec(options.keyRef)?.[1];
    auth = new GoogleAuth({ scopes: [CLOUDKMS_SCOPE], ...(projectId !== undefined ? { projectId } : {}) });
  }
  const a = auth;
  return async () => {
    let token;
    try {
      token = await a.getAccessToken();
    } catch (e) {
      throw new RestCallError(undefined, `credential:${(e as Error)?.name ?? 'Error'}`);
    }
    if (!token) throw new RestCallError(undefined, 'credential:no-token');
    return token;
  };
}
