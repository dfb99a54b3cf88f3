import type { TokenCredential } from '@azure/core-auth';
import type { TrustedKey } from '../verify';
import { AZURE_KV_KEY_SCHEME, readAzureKeyVaultKey } from './azure-kv-signer';
import { GCP_KMS_SCHEME, readGcpKmsPublicKey, type GoogleAccessTokenSource } from './gcp-kms-signer';
// The AWS scheme by name: importing kms-ecdsa-signer would load the AWS SDK for every verify.
const KMS_KEY_SCHEME = 'aws-kms';

const MANAGED = new RegExp(`^(${KMS_KEY_SCHEME}|${AZURE_KV_KEY_SCHEME}|${GCP_KMS_SCHEME}):`);

/** True for `aws-kms:…`, `azure-kv-key:…` and `gcp-kms:…`: a key `verify` fetches from its service. */
export function isManagedKeyReference(value: string): boolean {
  return MANAGED.test(value);
}

export interface FetchTrustedKeyOptions {
  /** Another API endpoint (tests, a private endpoint). @default the service's own */
  readonly endpoint?: string;
  /** @default azureDefaultCredential() (the caller's Azure login or managed identity) */
  readonly azureCredential?: TokenCredential;
  /** @default GoogleAuth: Application Default Credentials (the caller's gcloud login or service account) */
  readonly gcpAuth?: GoogleAccessTokenSource;
}

/**
 * Fetches a managed key's public key with the caller's credentials, as `verify --trust-key`
 * does, and pins it to the exact key (version included): a digest is trusted only when it names
 * that key and its signature verifies with that public key. An Azure key named without a
 * version resolves to the vault's current version.
 */
export async function fetchTrustedKey(ref: string, options: FetchTrustedKeyOptions = {}): Promise<TrustedKey> {
  const endpoint = options.endpoint !== undefined ? { endpoint: options.endpoint } : {};
  if (ref.startsWith(`${AZURE_KV_KEY_SCHEME}:`)) {
    const key = await readAzureKeyVaultKey({ keyRef: ref, ...endpoint, ...(options.azureCredential ? { credential: options.azureCredential } : {}) });
    return { publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyRef: key.keyRef };
  }
  if (ref.startsWith(`${GCP_KMS_SCHEME}:`)) {
    const key = await readGcpKmsPublicKey({ keyRef: ref, ...endpoint, ...(options.gcpAuth ? { auth: options.gcpAuth } : {}) });
    return { publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyRef: key.keyRef };
  }
  if (ref.startsWith(`${KMS_KEY_SCHEME}:`)) {
    const { KmsEcdsaSigner, parseKmsKeyReference } = await import('./kms-ecdsa-signer');
    const { keyId, region } = parseKmsKeyReference(ref);
    const signer = await KmsEcdsaSigner.create({ keyId, ...(region !== undefined ? { region } : {}), ...endpoint });
    signer.close();
    return { publicKeyPem: signer.publicKeyPem, keyRef: signer.keyRef };
  }
  throw new Error(`${ref} is not a managed key reference (aws-kms:, azure-kv-key:, gcp-kms:)`);
}
