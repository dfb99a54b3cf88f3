import { GatehouseError } from '../errors';
import type { StateIamAuth } from './connection-url';

/**
 * Login tokens for the state database from the gateway's platform identity (`state.iamAuth`):
 * the password of each new connection. A token is cached and fetched anew before it expires, so
 * a rotated token reaches the next connection; an existing connection is unaffected (PostgreSQL
 * checks the password at login only).
 *
 * - `azure-entra`: Azure Database for PostgreSQL flexible server with Microsoft Entra
 *   authentication takes an Entra access token for `https://ossrdbms-aad.database.windows.net`
 *   as the password ("Connect with Microsoft Entra ID", learn.microsoft.com/azure/postgresql/
 *   flexible-server/how-to-configure-sign-in-azure-ad-authentication). On Container Apps the
 *   managed identity's token comes from IDENTITY_ENDPOINT (via @azure/identity).
 * - `gcp-cloudsql`: Cloud SQL IAM database authentication takes an OAuth 2.0 access token with
 *   the `sqlservice.login` scope as the password ("Log in using IAM database authentication",
 *   cloud.google.com/sql/docs/postgres/iam-logins, manual login with an access token); on Cloud
 *   Run it comes from the metadata server (via google-auth-library).
 * - `aws-rds`: RDS IAM authentication; the token is signed locally per connection, not fetched
 *   (rds-auth-token.ts), so it bypasses this cache.
 *
 * A failure is GH_ERR_STATE_TOKEN_UNAVAILABLE and the connection is not tried: the gateway never
 * falls back to another password or to none. Tokens never appear in errors or logs.
 */
export interface IamToken {
  readonly token: string;
  /** Epoch milliseconds after which the token is refused. */
  readonly expiresAt: number;
}

/** Fetches one token from the platform (no caching). */
export type IamTokenFetcher = () => Promise<IamToken>;

export interface IamTokenSource {
  /** A token valid for a while yet: cached, or fetched now. */
  token(): Promise<string>;
}

export const AZURE_ENTRA_POSTGRES_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';
export const GCP_CLOUDSQL_LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';

/** Fetch anew this long before expiry (at most half the token's life). */
const REFRESH_MARGIN_MS = 5 * 60_000;

export interface IamTokenSourceOptions {
  /** The platform fetcher. @default the real one for `kind` */
  readonly fetch?: IamTokenFetcher;
  /** @default Date.now */
  readonly now?: () => number;
}

export function createIamTokenSource(kind: StateIamAuth, options: IamTokenSourceOptions = {}): IamTokenSource {
  const fetchToken = options.fetch ?? platformFetcher(kind);
  const now = options.now ?? Date.now;
  let cached: { token: string; refreshAt: number; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  return {
    token() {
      const t = now();
      if (cached !== undefined && t < cached.refreshAt) return Promise.resolve(cached.token);
      inflight ??= (async () => {
        try {
          let got: IamToken;
          try {
            got = await fetchToken();
          } catch (e) {
            throw tokenUnavailable(kind, e);
          }
          if (typeof got.token !== 'string' || got.token === '') throw tokenUnavailable(kind, new Error('the platform returned an empty token'));
          const fetchedAt = now();
          if (!(got.expiresAt > fetchedAt)) throw tokenUnavailable(kind, new Error('the platform returned an expired token'));
          const margin = Math.min(REFRESH_MARGIN_MS, (got.expiresAt - fetchedAt) / 2);
          cached = { token: got.token, refreshAt: got.expiresAt - margin, expiresAt: got.expiresAt };
          return got.token;
        } catch (e) {
          // A cached token that is still valid keeps the gateway connecting through a short outage.
          if (cached !== undefined && now() < cached.expiresAt) return cached.token;
          cached = undefined;
          throw e;
        } finally {
          inflight = undefined;
        }
      })();
      return inflight;
    },
  };
}

export function tokenUnavailable(kind: StateIamAuth, e: unknown): GatehouseError {
  const name = e instanceof Error ? e.name : 'Error';
  const message = e instanceof Error ? scrub(e.message) : '';
  return new GatehouseError('GH_ERR_STATE_TOKEN_UNAVAILABLE', `no ${kind} login token for the state database (${name}${message ? `: ${message}` : ''}); not connecting without one`, {
    cause: e,
    details: { iamAuth: kind },
  });
}

/** First line, bounded, with anything token-shaped (JWT, long base64) removed. */
function scrub(message: string): string {
  return message
    .split('\n')[0]!
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[token]')
    .replace(/[A-Za-z0-9+/_.-]{40,}/g, '[redacted]')
    .slice(0, 300);
}

/** The real fetchers; the SDKs are loaded only when a deployment uses them. */
export function platformFetcher(kind: StateIamAuth): IamTokenFetcher {
  if (kind === 'aws-rds') {
    // Its source needs the endpoint and user (createRdsTokenSource); reaching here is a wiring bug.
    return async () => {
      throw new Error('aws-rds tokens are signed per connection (state/rds-auth-token.ts), not fetched');
    };
  }
  if (kind === 'azure-entra') {
    let credential: import('@azure/core-auth').TokenCredential | undefined;
    return async () => {
      if (credential === undefined) {
        const { azureDefaultCredential } = await import('../recording/sinks/azure-blob/azure-credential');
        credential = azureDefaultCredential();
      }
      const t = await credential.getToken(AZURE_ENTRA_POSTGRES_SCOPE);
      if (t === null) throw new Error('the Azure credential returned no token');
      return { token: t.token, expiresAt: t.expiresOnTimestamp };
    };
  }
  let client: Promise<{ getAccessToken(): Promise<{ token?: string | null }>; credentials: { expiry_date?: number | null } }> | undefined;
  return async () => {
    client ??= (async () => {
      const { GoogleAuth } = await import('google-auth-library');
      return (await new GoogleAuth({ scopes: [GCP_CLOUDSQL_LOGIN_SCOPE] }).getClient()) as never;
    })().catch((e: unknown) => {
      client = undefined; // retry discovery on the next connection
      throw e;
    });
    const c = await client;
    const { token } = await c.getAccessToken();
    if (!token) throw new Error('google-auth-library returned no access token');
    // Metadata-server tokens carry expires_in; without it assume the documented one hour.
    const expiry = c.credentials.expiry_date;
    return { token, expiresAt: typeof expiry === 'number' && expiry > 0 ? expiry : Date.now() + 3_600_000 };
  };
}
