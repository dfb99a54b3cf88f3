import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { GatehouseError } from '../../errors';
import { keyIdOf, signatureAlgorithmOf, verifySignature, type DigestSigner } from '../signer';
import { p1363ToDer } from './ecdsa-der';
import { codeOf, RestCallError, restJson, signFailure, type RestCallOptions } from './rest-call';

export const AZURE_KV_KEY_SCHEME = 'azure-kv-key';
/** Key Vault REST API version of the calls below (https://learn.microsoft.com/en-us/rest/api/keyvault/keys/). */
export const AZURE_KV_API_VERSION = '7.4';

export interface AzureKeyVaultKeyOptions {
  /** `azure-kv-key:https://<vault>.vault.azure.net/keys/<name>[/<version>]`. */
  readonly keyRef: string;
  /** How the gateway authenticates. @default azureDefaultCredential() (managed identity on Container Apps) */
  readonly credential?: TokenCredential;
  /** Another origin for the Key Vault calls (tests, a private endpoint's URL). @default the vault's own URL */
  readonly endpoint?: string;
  /** Attempts per call (throttling, 5xx, network). @default 3 */
  readonly attempts?: number;
  /** Per attempt. @default 10000 */
  readonly timeoutMs?: number;
}

export interface AzureKeyReference {
  /** `https://<vault>.vault.azure.net` */
  readonly vaultUrl: string;
  readonly name: string;
  readonly version?: string;
  /** The OAuth scope of the vault's cloud, e.g. `https://vault.azure.net/.default`. */
  readonly scope: string;
}

// Vault names: 3-24 letters, digits and hyphens; key names: 1-127 letters, digits and hyphens
// (https://learn.microsoft.com/en-us/azure/key-vault/general/about-keys-secrets-certificates#object-identifiers).
const KEY_URL = /^https:\/\/([A-Za-z0-9-]{3,24})\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|managedhsm\.azure\.net)\/keys\/([A-Za-z0-9-]{1,127})(?:\/([A-Za-z0-9]{1,64}))?\/?$/;

/** Parses `azure-kv-key:https://<vault>.vault.azure.net/keys/<name>[/<version>]` (or a bare key URL). */
export function parseAzureKeyReference(ref: string): AzureKeyReference {
  const url = ref.startsWith(`${AZURE_KV_KEY_SCHEME}:`) ? ref.slice(AZURE_KV_KEY_SCHEME.length + 1) : ref;
  const m = KEY_URL.exec(url);
  if (!m) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `"${ref}" is not a Key Vault key reference such as "azure-kv-key:https://<vault>.vault.azure.net/keys/<name>[/<version>]"`);
  }
  const [, vault, suffix, name, version] = m;
  return {
    vaultUrl: `https://${vault!.toLowerCase()}.${suffix!}`,
    name: name!,
    ...(version !== undefined ? { version } : {}),
    // The resource of the vault's cloud: https://vault.azure.net, https://vault.azure.cn, …
    scope: `https://${suffix!}/.default`,
  };
}

/** A Key Vault key as `verify` and the signer need it: its exact version and its public key. */
export interface AzureKeyVaultKey {
  /** `azure-kv-key:<kid>`, the version included. */
  readonly keyRef: string;
  readonly kid: string;
  readonly publicKey: KeyObject;
}

/**
 * Reads a Key Vault key (`GET {vault}/keys/{name}[/{version}]`, https://learn.microsoft.com/en-us/rest/api/keyvault/keys/get-key/get-key)
 * and checks it is an enabled EC P-256 key that may sign. Without a version the vault answers with
 * the current one, which is then pinned. Throws GH_ERR_SECRET_UNAVAILABLE (unreachable, denied,
 * unknown) or GH_ERR_CONFIG_INVALID (wrong kind of key).
 */
export async function readAzureKeyVaultKey(options: AzureKeyVaultKeyOptions): Promise<AzureKeyVaultKey> {
  const ref = parseAzureKeyReference(options.keyRef);
  const call = callOptions(options);
  const token = await tokenSource(options, ref.scope);
  const path = `/keys/${ref.name}${ref.version !== undefined ? `/${ref.version}` : ''}`;
  let bundle: Record<string, unknown>;
  try {
    bundle = await restJson({ method: 'GET', url: apiUrl(ref, options.endpoint, path), token }, call);
  } catch (e) {
    throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `recording signing key ${options.keyRef} is unavailable: get key failed (${codeOf(e)})`, {
      details: { ref: options.keyRef, op: 'get-key', code: e instanceof RestCallError ? e.code : codeOf(e), ...(e instanceof RestCallError && e.status !== undefined ? { status: e.status } : {}) },
      cause: e,
    });
  }
  const invalid = (why: string) => new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key ${options.keyRef} ${why}`, { details: { ref: options.keyRef } });
  const jwk = bundle.key as { kid?: unknown; kty?: unknown; crv?: unknown; x?: unknown; y?: unknown; key_ops?: unknown } | undefined;
  const attributes = bundle.attributes as { enabled?: unknown } | undefined;
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string') throw invalid('came back without a key');
  // EC (software-protected) or EC-HSM (Premium vaults, Managed HSM); ES256 needs P-256.
  if (jwk.kty !== 'EC' && jwk.kty !== 'EC-HSM') throw invalid(`has key type ${String(jwk.kty)}; it must be EC or EC-HSM`);
  if (jwk.crv !== 'P-256') throw invalid(`is on curve ${String(jwk.crv)}; it must be P-256 (ES256)`);
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('sign')) throw invalid('does not permit the sign operation');
  if (attributes?.enabled === false) throw invalid('is disabled');
  let kidRef: AzureKeyReference;
  try {
    kidRef = parseAzureKeyReference(jwk.kid);
  } catch {
    throw invalid('came back with an unreadable key id');
  }
  // The vault must answer for the key asked for; a configured version must be the one answered.
  if (kidRef.vaultUrl !== ref.vaultUrl || kidRef.name !== ref.name || kidRef.version === undefined || (ref.version !== undefined && kidRef.version !== ref.version)) {
    throw invalid(`came back as ${jwk.kid}, not the key asked for`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y) }, format: 'jwk' });
  } catch (e) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `recording signing key ${options.keyRef} returned an unreadable public key`, { details: { ref: options.keyRef }, cause: e });
  }
  if (signatureAlgorithmOf(publicKey) !== 'ecdsa-p256') throw invalid('is not a NIST P-256 key');
  const kid = `${kidRef.vaultUrl}/keys/${kidRef.name}/${kidRef.version}`;
  return { keyRef: `${AZURE_KV_KEY_SCHEME}:${kid}`, kid, publicKey };
}

/**
 * Signs digests with an Azure Key Vault EC P-256 key (ES256); the private key never leaves the
 * vault. `create` pins the key version (so every digest names the exact version that signed it);
 * `sign` hashes locally and sends the SHA-256 to the `sign` operation
 * (https://learn.microsoft.com/en-us/rest/api/keyvault/keys/sign/sign), which answers with the
 * JOSE form r||s (RFC 7518 §3.4); it is converted to DER, the digest format's encoding, and
 * verified against the public key before it is used.
 */
export class AzureKeyVaultSigner implements DigestSigner {
  readonly keyId: string;
  readonly keyRef: string;
  readonly publicKeyPem: string;

  private constructor(
    private readonly key: AzureKeyVaultKey,
    private readonly signUrl: string,
    private readonly token: () => Promise<string>,
    private readonly call: RestCallOptions,
  ) {
    this.keyRef = key.keyRef;
    this.publicKeyPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keyId = keyIdOf(key.publicKey);
  }

  static async create(options: AzureKeyVaultKeyOptions): Promise<AzureKeyVaultSigner> {
    const key = await readAzureKeyVaultKey(options);
    const ref = parseAzureKeyReference(key.keyRef);
    const token = await tokenSource(options, ref.scope);
    return new AzureKeyVaultSigner(key, apiUrl(ref, options.endpoint, `/keys/${ref.name}/${ref.version!}/sign`), token, callOptions(options));
  }

  async sign(bytes: Uint8Array): Promise<Buffer> {
    const digest = createHash('sha256').update(bytes).digest();
    let out: Record<string, unknown>;
    try {
      out = await restJson({ method: 'POST', url: this.signUrl, token: this.token, body: { alg: 'ES256', value: digest.toString('base64url') } }, this.call);
    } catch (e) {
      throw signFailure(this.keyRef, 'unavailable', `cannot sign the digest with Key Vault key ${this.key.kid}: ${codeOf(e)}`, e);
    }
    if (typeof out.kid === 'string' && out.kid !== this.key.kid) {
      throw signFailure(this.keyRef, 'wrong-key', `Key Vault signed with ${out.kid}, not the pinned key ${this.key.kid}`);
    }
    let signature: Buffer;
    try {
      if (typeof out.value !== 'string') throw new Error('no signature value');
      signature = p1363ToDer(Buffer.from(out.value, 'base64url'));
    } catch (e) {
      throw signFailure(this.keyRef, 'malformed', `Key Vault key ${this.key.kid} returned a malformed signature`, e);
    }
    if (!verifySignature(this.publicKeyPem, bytes, signature)) {
      throw signFailure(this.keyRef, 'signature-mismatch', `Key Vault key ${this.key.kid} returned a signature that does not verify with its public key`);
    }
    return signature;
  }
}

function apiUrl(ref: AzureKeyReference, endpoint: string | undefined, path: string): string {
  const url = new URL(path, endpoint ?? ref.vaultUrl);
  url.searchParams.set('api-version', AZURE_KV_API_VERSION);
  return url.toString();
}

function callOptions(options: AzureKeyVaultKeyOptions): RestCallOptions {
  return { attempts: options.attempts ?? 3, timeoutMs: options.timeoutMs ?? 10000 };
}

async function tokenSource(options: AzureKeyVaultKeyOptions, scope: string): Promise<() => Promise<string>> {
  let credential = options.credential;
  if (!credential) {
    const { azureDefaultCredential } = await import('../sinks/azure-blob/azure-credential');
    credential = azureDefaultCredential();
  }
  const c = credential;
  return async () => {
    let token;
    try {
      token = await c.getToken(scope);
    } catch (e) {
      throw new RestCallError(undefined, `credential:${(e as Error)?.name ?? 'Error'}`);
    }
    if (!token?.token) throw new RestCallError(undefined, 'credential:no-token');
    return token.token;
  };
}
