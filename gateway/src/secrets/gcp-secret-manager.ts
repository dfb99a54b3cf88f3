import { secretUnavailable } from './reference';
import type { FetchedSecret, SchemeProvider } from './scheme-provider';

export const GCP_SECRET_MANAGER_SCHEME = 'gcp-sm';

export interface GcpSecretManagerOptions {
  /**
   * An OAuth access token for `cloud-platform`. @default Application Default Credentials (on Cloud
   * Run, the service's account through the metadata server), via google-auth-library
   */
  readonly accessToken?: () => Promise<string>;
  /** @default 'https://secretmanager.googleapis.com' */
  readonly endpoint?: string;
  /** Per request. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** How long the secret store may serve a value from cache. @default the store's (5 minutes) */
  readonly cacheTtlMs?: number;
}

const VERSION_NAME = /^projects\/([a-z0-9-]{4,30}|\d{1,20})\/secrets\/([A-Za-z0-9_-]{1,255})(?:\/versions\/(latest|\d{1,20}))?$/;

/** `projects/<p>/secrets/<s>[/versions/<v>]` → the version's resource name (latest when none is given). */
export function parseGcpSecretName(name: string): string | undefined {
  const m = VERSION_NAME.exec(name);
  if (!m) return undefined;
  return `projects/${m[1]}/secrets/${m[2]}/versions/${m[3] ?? 'latest'}`;
}

/**
 * `gcp-sm:projects/<p>/secrets/<s>[/versions/<v>]` references, read with Secret Manager's
 * `versions.access` (REST v1). The payload is returned as UTF-8; the version number Secret Manager
 * resolves `latest` to tells the store which version it holds.
 *
 * Errors are GH_ERR_SECRET_UNAVAILABLE naming the reference and Google's status, never the value
 * or the token.
 */
export function gcpSecretManagerSchemeProvider(options: GcpSecretManagerOptions = {}): SchemeProvider {
  const endpoint = (options.endpoint ?? 'https://secretmanager.googleapis.com').replace(/\/$/, '');
  const timeout = options.requestTimeoutMs ?? 10000;
  const accessToken = options.accessToken ?? defaultAccessToken();
  return {
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
    async fetch(name: string, ref: string): Promise<FetchedSecret> {
      const version = parseGcpSecretName(name);
      if (!version) throw secretUnavailable(ref, 'expected gcp-sm:projects/<project>/secrets/<secret>[/versions/<n>|latest]');
      let token: string;
      try {
        token = await accessToken();
      } catch (e) {
        throw secretUnavailable(ref, 'no Google access token (is the service account attached?)', e);
      }
      let res: Response;
      try {
        res = await fetch(`${endpoint}/v1/${version}:access`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(timeout) });
      } catch (e) {
        throw secretUnavailable(ref, `Secret Manager unreachable (${networkCode(e)})`, e);
      }
      const body = (await res.json().catch(() => undefined)) as { name?: unknown; payload?: { data?: unknown }; error?: { status?: unknown } } | undefined;
      if (!res.ok) {
        const status = typeof body?.error?.status === 'string' ? body.error.status : 'Error';
        throw secretUnavailable(ref, `Secret Manager answered ${res.status} (${status})`);
      }
      const data = body?.payload?.data;
      if (typeof data !== 'string' || data === '') throw secretUnavailable(ref, 'the secret version has no payload');
      const value = Buffer.from(data, 'base64').toString('utf8');
      if (value === '') throw secretUnavailable(ref, 'the secret version has no payload');
      const resolved = typeof body?.name === 'string' ? body.name.split('/').pop() : undefined;
      return { value, ...(resolved ? { version: resolved } : {}) };
    },
  };
}

function defaultAccessToken(): () => Promise<string> {
  let auth: Promise<{ getAccessToken(): Promise<string | null | undefined> }> | undefined;
  return async () => {
    auth ??= import('google-auth-library').then(({ GoogleAuth }) => new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }));
    const token = await (await auth).getAccessToken();
    if (!token) throw new Error('no access token');
    return token;
  };
}

function networkCode(e: unknown): string {
  const err = e as { name?: unknown; cause?: { code?: unknown } };
  if (err?.name === 'TimeoutError') return 'timeout';
  return typeof err?.cause?.code === 'string' ? err.cause.code : 'network error';
}
