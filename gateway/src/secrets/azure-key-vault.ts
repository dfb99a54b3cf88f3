import type { TokenCredential } from '@azure/core-auth';
import { secretUnavailable } from './reference';
import type { FetchedSecret, SchemeProvider } from './scheme-provider';

export const AZURE_KEY_VAULT_SCHEME = 'azure-kv';

export interface AzureKeyVaultOptions {
  /**
   * The identity that reads secrets: on Container Apps the gateway's managed identity
   * (`azureDefaultCredential()` from recording/sinks/azure-blob).
   */
  readonly credential: TokenCredential;
  /**
   * Base URL of a vault from its name.
   * @default `https://<vault>.vault.azure.net` (the private endpoint resolves it inside the VNet)
   */
  readonly vaultUrl?: (vault: string) => string;
  /** Per request. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** How long the secret store may serve a value from cache. @default the store's (5 minutes) */
  readonly cacheTtlMs?: number;
}

export interface AzureSecretName {
  readonly vault: string;
  readonly secret: string;
  /** A pinned version. @default the latest */
  readonly version?: string;
}

const VAULT = /^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$/;
const SECRET = /^[A-Za-z0-9-]{1,127}$/;
const VERSION = /^[A-Za-z0-9]{32}$/;
const API_VERSION = '7.5';
const SCOPE = 'https://vault.azure.net/.default';

/** `<vault>/<secret>[/<version>]`; undefined when the name has another shape. */
export function parseAzureSecretName(name: string): AzureSecretName | undefined {
  const parts = name.split('/');
  if (parts.length < 2 || parts.length > 3) return undefined;
  const [vault, secret, version] = parts as [string, string, string | undefined];
  if (!VAULT.test(vault) || !SECRET.test(secret) || (version !== undefined && !VERSION.test(version))) return undefined;
  return { vault, secret, ...(version !== undefined ? { version } : {}) };
}

/**
 * `azure-kv:<vault>/<secret>[/<version>]` references, read with Key Vault's Get Secret (REST,
 * api-version 7.5) under a bearer token for `https://vault.azure.net` from the gateway's identity.
 * The version id Key Vault returns tells the store which version it holds.
 *
 * Errors are GH_ERR_SECRET_UNAVAILABLE naming the reference and Key Vault's error code, never the
 * value or the token.
 */
export function azureKeyVaultSchemeProvider(options: AzureKeyVaultOptions): SchemeProvider {
  const vaultUrl = options.vaultUrl ?? ((vault: string) => `https://${vault}.vault.azure.net`);
  const timeout = options.requestTimeoutMs ?? 10000;
  return {
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
    async fetch(name: string, ref: string): Promise<FetchedSecret> {
      const parsed = parseAzureSecretName(name);
      if (!parsed) throw secretUnavailable(ref, 'expected azure-kv:<vault>/<secret>[/<32-character version>]');
      let token: string;
      try {
        const t = await options.credential.getToken(SCOPE);
        if (!t?.token) throw new Error('no token');
        token = t.token;
      } catch (e) {
        throw secretUnavailable(ref, 'no Entra ID token for Key Vault (is the managed identity assigned and AZURE_CLIENT_ID set?)', e);
      }
      const url = `${vaultUrl(parsed.vault)}/secrets/${parsed.secret}${parsed.version ? `/${parsed.version}` : ''}?api-version=${API_VERSION}`;
      let res: Response;
      try {
        res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(timeout) });
      } catch (e) {
        throw secretUnavailable(ref, `Key Vault unreachable (${networkCode(e)})`, e);
      }
      const body = (await res.json().catch(() => undefined)) as { value?: unknown; id?: unknown; error?: { code?: unknown } } | undefined;
      if (!res.ok) {
        const code = typeof body?.error?.code === 'string' ? body.error.code : 'Error';
        throw secretUnavailable(ref, `Key Vault answered ${res.status} (${code})`);
      }
      if (typeof body?.value !== 'string' || body.value === '') throw secretUnavailable(ref, 'the secret has no value');
      const version = typeof body.id === 'string' ? body.id.split('/').pop() : undefined;
      return { value: body.value, ...(version ? { version } : {}) };
    },
  };
}

function networkCode(e: unknown): string {
  const err = e as { name?: unknown; cause?: { code?: unknown } };
  if (err?.name === 'TimeoutError') return 'timeout';
  return typeof err?.cause?.code === 'string' ? err.cause.code : 'network error';
}
