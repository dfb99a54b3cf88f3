export { KMS_KEY_SCHEME, KmsEcdsaSigner, parseKmsKeyReference, type KmsEcdsaSignerOptions } from './kms-ecdsa-signer';
export { AZURE_KV_KEY_SCHEME, AzureKeyVaultSigner, parseAzureKeyReference, readAzureKeyVaultKey, type AzureKeyVaultKeyOptions } from './azure-kv-signer';
export { GCP_KMS_SCHEME, GcpKmsSigner, parseGcpKmsKeyReference, readGcpKmsPublicKey, type GcpKmsKeyOptions, type GoogleAccessTokenSource } from './gcp-kms-signer';
export { fetchTrustedKey, isManagedKeyReference, type FetchTrustedKeyOptions } from './trusted-key';
