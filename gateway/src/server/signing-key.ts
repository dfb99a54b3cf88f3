import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { GatehouseConfig } from '../config/schema';
import { GatehouseError } from '../errors';
import type { SecretProvider } from '../pipeline/types';
import { localLogRoot } from './sinks';
import { Ed25519Signer, generateDevSigningKey, type DigestSigner } from '../recording/signer';

/**
 * The digest signing key: from the secret store when configured (required in production); in
 * development a key is generated once and kept at `devKeyPath`, outside the log it signs
 * (unless `generate` is false: then the signer is undefined where one would be generated).
 */
export async function loadDigestSigner(
  config: GatehouseConfig,
  secrets: SecretProvider,
  devKeyPath: string,
  options: { readonly generate?: boolean } = {},
): Promise<{ signer: DigestSigner | undefined; generated: boolean }> {
  const ref = config.recording.signingKey;
  const endpoint = config.recording.signingKeyEndpoint !== undefined ? { endpoint: config.recording.signingKeyEndpoint } : {};
  // Keys that never leave their cloud's key service (loaded lazily: each pulls its cloud's SDK).
  if (ref?.startsWith('aws-kms:')) {
    const { KmsEcdsaSigner, parseKmsKeyReference } = await import('../recording/signers/kms-ecdsa-signer');
    const { keyId, region } = parseKmsKeyReference(ref);
    return { signer: await KmsEcdsaSigner.create({ keyId, region, ...endpoint }), generated: false };
  }
  if (ref?.startsWith('azure-kv-key:')) {
    const { AzureKeyVaultSigner } = await import('../recording/signers/azure-kv-signer');
    return { signer: await AzureKeyVaultSigner.create({ keyRef: ref, ...endpoint }), generated: false };
  }
  if (ref?.startsWith('gcp-kms:')) {
    const { GcpKmsSigner } = await import('../recording/signers/gcp-kms-signer');
    return { signer: await GcpKmsSigner.create({ keyRef: ref, ...endpoint }), generated: false };
  }
  if (config.recording.signingKey) {
    return { signer: new Ed25519Signer(await secrets.get(config.recording.signingKey)), generated: false };
  }
  if (config.mode === 'production') {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'recording.signingKey is required in production mode');
  }
  try {
    return { signer: new Ed25519Signer(await readFile(devKeyPath, 'utf8')), generated: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // A check (preflight) reports what start-up would do without doing it.
  if (options.generate === false) return { signer: undefined, generated: false };
  const key = generateDevSigningKey();
  await mkdir(dirname(devKeyPath), { recursive: true, mode: 0o700 });
  await writeFile(devKeyPath, key.privateKeyPem, { mode: 0o600, flag: 'wx' });
  await chmod(devKeyPath, 0o600);
  await writeFile(`${devKeyPath}.pub`, key.publicKeyPem, { mode: 0o644 });
  return { signer: new Ed25519Signer(key.privateKeyPem), generated: true };
}

/** Where a generated development signing key is kept: beside a filesystem log (never inside it). */
export function devSigningKeyPath(config: GatehouseConfig): string {
  return join(dirname(resolve(localLogRoot(config.recording.sink) ?? './.gatehouse/log')), 'dev-signing-key.pem');
}
