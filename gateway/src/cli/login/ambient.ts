import { readFileSync } from 'node:fs';
import { GatehouseError } from '../../errors';

/**
 * Workload credentials: a CI job or container already holds an OIDC token from its platform, so
 * nobody logs in. `gatehouse token --ambient` reads it from, in this order:
 *   --token-file PATH  a file the platform keeps fresh (Kubernetes projected service account
 *                      tokens, GitLab `id_tokens` written to a file, ...)
 *   --token-env NAME   an environment variable (GitLab CI `id_tokens:`, Buildkite, ...)
 *   GitHub Actions     ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN (the job needs `id-token: write`),
 *                      asked for `--audience`
 * The gateway verifies whatever is returned; here we only refuse what is plainly unusable.
 */
export interface AmbientOptions {
  readonly tokenFile?: string;
  readonly tokenEnv?: string;
  readonly audience?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly fetch?: typeof fetch;
  /** Seconds since the epoch. @default now */
  readonly now?: number;
}

export async function readAmbientToken(options: AmbientOptions): Promise<string> {
  const env = options.env ?? process.env;
  if (options.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.tokenFile, 'utf8');
    } catch (e) {
      throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', `cannot read the token file ${options.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return checked(text.trim(), `the token file ${options.tokenFile}`, options.now);
  }
  if (options.tokenEnv !== undefined) {
    const value = env[options.tokenEnv];
    if (!value) throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', `the environment variable ${options.tokenEnv} is not set`);
    return checked(value.trim(), `$${options.tokenEnv}`, options.now);
  }
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (url && bearer) {
    if (!options.audience) throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', 'GitHub Actions needs --audience (one of the audiences the gateway trusts for its GitHub issuer)');
    const request = new URL(url);
    request.searchParams.set('audience', options.audience);
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(request, { headers: { authorization: `bearer ${bearer}`, accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', `the GitHub Actions token request failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!response.ok) throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', `the GitHub Actions token request answered ${response.status} (does the job have "permissions: id-token: write"?)`);
    const body = (await response.json().catch(() => ({}))) as { value?: unknown };
    if (typeof body.value !== 'string') throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', 'the GitHub Actions token response has no "value"');
    return checked(body.value, 'GitHub Actions', options.now);
  }
  throw new GatehouseError(
    'GH_ERR_AMBIENT_TOKEN',
    'no ambient token: not in GitHub Actions with id-token: write (ACTIONS_ID_TOKEN_REQUEST_URL unset), and neither --token-file nor --token-env was given',
  );
}

/** A JWT whose `exp` (when readable) has not passed. The signature is the gateway's business. */
function checked(token: string, source: string, now = Math.floor(Date.now() / 1000)): string {
  const exp = jwtExpiry(token);
  if (exp === null) throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', `${source} does not hold a JWT`);
  if (exp !== undefined && exp <= now) throw new GatehouseError('GH_ERR_AMBIENT_TOKEN', `the token in ${source} has expired`);
  return token;
}

/** `exp` of a compact JWS without verifying it; undefined without `exp`; null when not a JWT. */
export function jwtExpiry(token: string): number | undefined | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown };
    if (payload === null || typeof payload !== 'object') return null;
    return typeof payload.exp === 'number' ? payload.exp : undefined;
  } catch {
    return null;
  }
}
