import { parseArgs } from 'node:util';
import { GatehouseError } from '../../errors';
import type { CommandIO } from '../io';
import { ensureTokenEntry, normalizeGateway, readDefaultGateway, readLogin, type CachedLogin } from '../login/token-cache';

/** Refresh when the cached token has less than this left (Claude Code asks its helper every 5 min). */
const DEFAULT_MIN_VALID_SECONDS = 300;

export interface TokenDeps {
  readonly env?: NodeJS.ProcessEnv;
  /** Seconds since the epoch. */
  readonly now?: () => number;
}

/**
 * `gatehouse token [gateway]`: prints a current token for a gateway, for tools to call on every
 * use (Claude Code's apiKeyHelper, wrappers). The cached path reads one small file and exits;
 * everything heavy (openid-client for a refresh, the config and jose for --dev) is imported only
 * when needed, and the bundle splits those into chunks that are not loaded otherwise.
 */
export async function tokenCommand(argv: string[], io: CommandIO, deps: TokenDeps = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      dev: { type: 'boolean', default: false },
      sub: { type: 'string' },
      groups: { type: 'string', default: 'developers' },
      ttl: { type: 'string', default: '3600' },
      config: { type: 'string' },
      name: { type: 'string' },
      ambient: { type: 'boolean', default: false },
      'token-file': { type: 'string' },
      'token-env': { type: 'string' },
      audience: { type: 'string' },
      'min-valid': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.dev) {
    if (positionals.length > 0) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', '--dev takes no gateway');
    return (await import('./token-dev')).devTokenCommand(values, io);
  }
  if (values.ambient || values['token-file'] !== undefined || values['token-env'] !== undefined) {
    const { readAmbientToken } = await import('../login/ambient');
    io.out(await readAmbientToken({ tokenFile: values['token-file'], tokenEnv: values['token-env'], audience: values.audience, env: deps.env }));
    return 0;
  }
  if (positionals.length > 1) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', 'give at most one gateway');
  const env = deps.env ?? process.env;
  const gateway = positionals[0] !== undefined ? normalizeGateway(positionals[0]) : readDefaultGateway(env);
  if (!gateway) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', 'not logged in: run gatehouse login <gateway-url>');
  const minValid = values['min-valid'] === undefined ? DEFAULT_MIN_VALID_SECONDS : Number(values['min-valid']);
  if (!Number.isInteger(minValid) || minValid < 0) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', '--min-valid takes a whole number of seconds');

  const cached = readLogin(gateway, env);
  if (!cached) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', `not logged in to ${gateway}: run gatehouse login ${gateway}`);
  const now = deps.now?.() ?? Math.floor(Date.now() / 1000);
  if (cached.expiresAt - now > minValid) {
    // The fast helper (gatehouse-token) fell back to us, or was never used: its entry is made to
    // match, so its next call needs no Node.
    ensureTokenEntry(cached, env);
    io.out(cached.idToken);
    return 0;
  }
  io.out(await refreshCached(cached, env, minValid, now));
  return 0;
}

async function refreshCached(cached: CachedLogin, env: NodeJS.ProcessEnv, minValid: number, now: number): Promise<string> {
  if (!cached.refreshToken) {
    throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', `the login for ${cached.gateway} has expired and the issuer gave no refresh token: run gatehouse login ${cached.gateway}`);
  }
  const { discoverIssuer, refresh } = await import('../login/oidc-flows');
  const { saveLogin, withRefreshLock } = await import('../login/token-cache');
  // Tools call `token` concurrently (several Claude Code sessions): one refreshes, the others wait
  // and take its result. Two refreshes with a rotating refresh token would fail the second, and
  // some issuers then revoke the whole grant.
  return withRefreshLock(cached.gateway, env, async () => {
    const current = readLogin(cached.gateway, env) ?? cached;
    // Refreshed by another process while we waited (even if the issuer's tokens live shorter than
    // the margin), or still fresh enough: no second refresh.
    if ((current.savedAt > cached.savedAt && current.expiresAt > now) || current.expiresAt - now > minValid) return current.idToken;
    if (!current.refreshToken) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', `the login for ${cached.gateway} can no longer be refreshed: run gatehouse login ${cached.gateway}`);
    const config = await discoverIssuer(current);
    const tokens = await refresh(config, current.refreshToken);
    saveLogin({ gateway: current.gateway, issuer: current.issuer, clientId: current.clientId, scopes: current.scopes, ...tokens }, env, false);
    return tokens.idToken;
  });
}
