export { KMS_KEY_SCHEME, KmsEcdsaSigner, parseKmsKeyReference, type KmsEcdsaSignerOptions } from './kms-ecdsa-signer';
