import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { GatehouseError } from '../../errors';

/**
 * The OAuth flows `gatehouse login` runs against the gateway's issuer, on openid-client: the
 * authorization code grant with PKCE and a loopback redirect (RFC 8252 §7.3) when a browser can
 * be used, the device authorization grant (RFC 8628) otherwise, and the refresh token grant.
 * The CLI is a public client: no secret exists to protect.
 */
export interface LoginTokens {
  readonly idToken: string;
  /** `exp` of the ID token, seconds since the epoch. */
  readonly expiresAt: number;
  readonly refreshToken?: string;
}

export interface FlowIO {
  /** Messages for the person (the URL to open, the user code): to stderr, so stdout stays clean. */
  say(line: string): void;
}

export interface IssuerClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

/**
 * Discovers the issuer. Plain http is allowed only for a loopback issuer (local development and
 * tests): anywhere else discovery and tokens over http could be swapped on the path.
 */
export async function discoverIssuer(client: IssuerClient, timeoutSeconds = 10): Promise<oidc.Configuration> {
  const url = new URL(client.issuer);
  const insecure = url.protocol === 'http:';
  if (insecure && !isLoopbackHost(url.hostname)) {
    throw new GatehouseError('GH_ERR_LOGIN_FAILED', `the issuer ${client.issuer} is not https:// (only a loopback issuer may use http)`);
  }
  try {
    return await oidc.discovery(url, client.clientId, { token_endpoint_auth_method: 'none' }, oidc.None(), {
      timeout: timeoutSeconds,
      ...(insecure && { execute: [oidc.allowInsecureRequests] }),
    });
  } catch (e) {
    throw new GatehouseError('GH_ERR_LOGIN_FAILED', `could not discover the issuer ${client.issuer}: ${describe(e)}`, { cause: e });
  }
}

export interface CodeFlowOptions {
  /** Opens the URL in a browser; returns false when it could not (the URL is printed either way). */
  readonly openBrowser: (url: string) => Promise<boolean>;
  /** How long to wait for the browser to come back. @default 300 */
  readonly timeoutSeconds?: number;
}

/** Authorization code + PKCE, redirect to `http://127.0.0.1:<random port>/callback`. */
export async function codeFlow(config: oidc.Configuration, client: IssuerClient, io: FlowIO, options: CodeFlowOptions): Promise<LoginTokens> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const callback = await listenForCallback(options.timeoutSeconds ?? 300);
  try {
    const scope = client.scopes.join(' ');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: callback.redirectUri,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // Most issuers grant offline_access (a refresh token) only after explicit consent.
      ...(client.scopes.includes('offline_access') && { prompt: 'consent' }),
    }).href;
    io.say(`Opening your browser to sign in. If it does not open, visit:\n\n  ${url}\n`);
    await options.openBrowser(url).catch(() => false);
    const returned = await callback.result;
    try {
      const tokens = await oidc.authorizationCodeGrant(config, returned, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
      });
      return toLoginTokens(tokens);
    } catch (e) {
      throw new GatehouseError('GH_ERR_LOGIN_FAILED', `sign-in failed: ${describe(e)}`, { cause: e });
    }
  } finally {
    callback.close();
  }
}

/** Device authorization grant: prints the verification URI and user code, then polls. */
export async function deviceFlow(config: oidc.Configuration, client: IssuerClient, io: FlowIO, signal?: AbortSignal): Promise<LoginTokens> {
  let started: oidc.DeviceAuthorizationResponse;
  try {
    started = await oidc.initiateDeviceAuthorization(config, { scope: client.scopes.join(' ') });
  } catch (e) {
    throw new GatehouseError('GH_ERR_LOGIN_FAILED', `the issuer refused the device authorization request: ${describe(e)}`, { cause: e });
  }
  io.say(
    `To sign in, visit:\n\n  ${started.verification_uri}\n\nand enter the code:  ${started.user_code}\n` +
      (started.verification_uri_complete ? `\n(or open ${started.verification_uri_complete})\n` : '') +
      `\nWaiting (the code expires in ${Math.round(started.expires_in / 60)} min)...`,
  );
  try {
    // openid-client waits `interval` between polls, adds 5 s on slow_down, and throws on
    // expired_token / access_denied.
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, started, undefined, { signal });
    return toLoginTokens(tokens);
  } catch (e) {
    const error = (e as { error?: string }).error;
    if (error === 'expired_token') throw new GatehouseError('GH_ERR_LOGIN_FAILED', 'the code expired before it was approved: run gatehouse login again', { cause: e });
    if (error === 'access_denied') throw new GatehouseError('GH_ERR_LOGIN_FAILED', 'the sign-in was denied', { cause: e });
    throw new GatehouseError('GH_ERR_LOGIN_FAILED', `device sign-in failed: ${describe(e)}`, { cause: e });
  }
}

/** The refresh token grant; the issuer must return a new ID token (the gateway credential). */
export async function refresh(config: oidc.Configuration, refreshToken: string): Promise<LoginTokens> {
  let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
  try {
    tokens = await oidc.refreshTokenGrant(config, refreshToken);
  } catch (e) {
    throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', `the issuer refused to refresh the login (${describe(e)}): run gatehouse login again`, { cause: e });
  }
  if (!tokens.id_token) throw new GatehouseError('GH_ERR_NOT_LOGGED_IN', 'the issuer refreshed the login without a new ID token: run gatehouse login again');
  // Issuers that do not rotate refresh tokens answer without one: the old one stays valid.
  return { ...toLoginTokens(tokens), refreshToken: tokens.refresh_token ?? refreshToken };
}

function toLoginTokens(tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): LoginTokens {
  const claims = tokens.claims();
  if (!tokens.id_token || !claims) throw new GatehouseError('GH_ERR_LOGIN_FAILED', 'the issuer returned no ID token (is "openid" among the scopes?)');
  return { idToken: tokens.id_token, expiresAt: claims.exp, ...(tokens.refresh_token && { refreshToken: tokens.refresh_token }) };
}

interface Callback {
  readonly redirectUri: string;
  /** The full callback URL the browser came back with. */
  readonly result: Promise<URL>;
  close(): void;
}

/**
 * A one-shot loopback listener for the redirect. Only `/callback` counts; the first request to it
 * ends the wait whatever it carries (state and the code are checked by the grant, not here).
 */
async function listenForCallback(timeoutSeconds: number): Promise<Callback> {
  let resolve!: (url: URL) => void;
  let reject!: (e: Error) => void;
  const result = new Promise<URL>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let base = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const failed = url.searchParams.has('error');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><title>Gatehouse</title><p>${failed ? 'Sign-in failed: return to your terminal.' : 'Signed in: you can close this tab and return to your terminal.'}</p>`);
    resolve(url);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const timer = setTimeout(() => reject(new GatehouseError('GH_ERR_LOGIN_FAILED', `no answer from the browser within ${timeoutSeconds} s`)), timeoutSeconds * 1000);
  return {
    redirectUri: `${base}/callback`,
    result,
    close() {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * Opens a URL with `$BROWSER` or xdg-open / open; false when neither exists or there is no display
 * (the caller then relies on the printed URL, or on the device flow).
 */
export async function openBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const command = env.BROWSER || (process.platform === 'darwin' ? 'open' : 'xdg-open');
  return new Promise((resolve) => {
    try {
      const child = spawn(command, [url], { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

/** Whether a browser can plausibly be shown here: otherwise `login` uses the device flow. */
export function browserAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.BROWSER) return true;
  if (process.platform === 'darwin' || process.platform === 'win32') return !env.SSH_CONNECTION;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}

/** The error's OAuth code and description only: never a token. */
function describe(e: unknown): string {
  const { error, error_description: description } = e as { error?: string; error_description?: string };
  if (typeof error === 'string') return description ? `${error}: ${description}` : error;
  return e instanceof Error ? e.message : String(e);
}
