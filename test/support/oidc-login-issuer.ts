/**
 * A real OIDC issuer people sign in at, for `gatehouse login` tests: `oidc-provider` on
 * 127.0.0.1 (port 0) with one public native client that may use the authorization code grant
 * with PKCE (loopback redirect, any port), the device authorization grant and refresh tokens.
 *
 * The person's part is played with plain HTTP requests against the provider's own endpoints
 * (a cookie jar, redirects followed by hand, the device forms' xsrf fields): `signInAt(url)`
 * follows an authorization URL to the loopback callback, `approveUserCode(code)` approves a
 * device code through `/device`. Both sign in as `account` and consent to everything asked.
 *
 * Kept apart from oidc-issuer.ts (machine tokens and key rotation) so the two evolve alone.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const LOGIN_CLIENT_ID = 'gatehouse-cli';

export interface LoginIssuerOptions {
  /** ID token lifetime in seconds (short to test refresh). @default 3600 */
  readonly idTokenTtl?: number;
  /** Issue refresh tokens (offline_access). @default true */
  readonly refreshTokens?: boolean;
  /** Device code lifetime in seconds. @default 600 */
  readonly deviceCodeTtl?: number;
  /**
   * The polling `interval` (seconds) the device authorization response names (RFC 8628 §3.2);
   * oidc-provider names none, so clients wait the default 5 s between polls. @default none
   */
  readonly deviceInterval?: number;
}

export interface LoginIssuer {
  readonly issuer: string;
  /** The account people sign in as, and its groups (in the ID token with the `groups` scope). */
  account: string;
  groups: string[];
  /** Follows an authorization URL as a browser would, signing in; resolves when the callback was reached. */
  signInAt(authorizationUrl: string): Promise<void>;
  /** Enters and confirms a user code at `/device`, then signs in and consents. */
  approveUserCode(userCode: string): Promise<void>;
  /** Enters a user code at `/device` and aborts it there: the device's poll gets access_denied. */
  denyUserCode(userCode: string): Promise<void>;
  /** Lifetimes of ID (and access) tokens and of device codes issued from now on, in seconds. */
  idTokenTtl: number;
  deviceCodeTtl: number;
  /** How many token endpoint requests carried each grant type. */
  readonly grants: Record<string, number>;
  /** Device authorization requests answered with a code (`/device/auth`). */
  readonly deviceAuthorizations: number;
  /** Token endpoint requests (polls) for the device code behind this user code. */
  pollsFor(userCode: string): number;
  close(): Promise<void>;
}

interface InteractionProvider {
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string; details: Record<string, unknown> }; params: Record<string, string>; grantId?: string }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'grant.success', listener: (ctx: { oidc: { params: { grant_type?: string } } }) => void): void;
  use(middleware: (ctx: { path: string; method: string; status: number; body: unknown; oidc?: { params?: Record<string, unknown> } }, next: () => Promise<void>) => Promise<void>): void;
}

export async function startLoginIssuer(options: LoginIssuerOptions = {}): Promise<LoginIssuer> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const grants: Record<string, number> = {};
  const server: Server = createServer((req, res) => handler!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state = { account: 'alice', groups: ['developers'], idTokenTtl: options.idTokenTtl ?? 3600, deviceCodeTtl: options.deviceCodeTtl ?? 600 };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: LOGIN_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        // Native clients on loopback may use any port (RFC 8252 §7.3).
        redirect_uris: ['http://127.0.0.1/callback'],
      },
    ],
    cookies: { keys: ['gatehouse-login-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    // Scope-requested claims in the ID token too: the ID token is what the gateway sees.
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.test`, name: id, groups: state.groups }),
    }),
    ttl: { IdToken: () => state.idTokenTtl, AccessToken: () => state.idTokenTtl, DeviceCode: () => state.deviceCodeTtl, RefreshToken: 86400, Grant: 86400, Session: 86400, Interaction: 600 },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }, code: { scopes: Set<string> }) =>
      (options.refreshTokens ?? true) && client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
    },
  }) as unknown as InteractionProvider;

  // Who asked for which device code, and how often its token endpoint was polled.
  let deviceAuthorizations = 0;
  const deviceCodes = new Map<string, string>();
  const polls = new Map<string, number>();
  provider.use(async (ctx, next) => {
    await next();
    const body = typeof ctx.body === 'object' && ctx.body !== null ? (ctx.body as Record<string, unknown>) : {};
    if (ctx.path === '/device/auth' && ctx.status === 200 && typeof body.user_code === 'string' && typeof body.device_code === 'string') {
      deviceAuthorizations++;
      deviceCodes.set(body.user_code, body.device_code);
    }
    const code = ctx.path === '/token' ? ctx.oidc?.params?.device_code : undefined;
    if (typeof code === 'string') polls.set(code, (polls.get(code) ?? 0) + 1);
  });
  if (options.deviceInterval !== undefined) {
    const interval = options.deviceInterval;
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/device/auth' && ctx.status === 200 && typeof ctx.body === 'object' && ctx.body !== null) (ctx.body as Record<string, unknown>).interval = interval;
    });
  }
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type ?? 'unknown';
    grants[type] = (grants[type] ?? 0) + 1;
  });
  const callback = provider.callback();
  handler = (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path.startsWith('/interaction/')) {
      void finishInteraction(provider, req, res, state.account).catch((e) => {
        res.writeHead(500).end(String(e));
      });
      return;
    }
    callback(req, res);
  };

  return {
    issuer,
    get account() {
      return state.account;
    },
    set account(v: string) {
      state.account = v;
    },
    get groups() {
      return state.groups;
    },
    set groups(v: string[]) {
      state.groups = v;
    },
    get idTokenTtl() {
      return state.idTokenTtl;
    },
    set idTokenTtl(v: number) {
      state.idTokenTtl = v;
    },
    get deviceCodeTtl() {
      return state.deviceCodeTtl;
    },
    set deviceCodeTtl(v: number) {
      state.deviceCodeTtl = v;
    },
    grants,
    get deviceAuthorizations() {
      return deviceAuthorizations;
    },
    pollsFor: (userCode) => polls.get(deviceCodes.get(userCode) ?? '') ?? 0,
    // A fresh browser each time: no session carries over from one sign-in (or test) to the next.
    async signInAt(authorizationUrl) {
      await new CookieBrowser(issuer).follow(authorizationUrl, (url) => url.pathname === '/callback' && url.hostname === '127.0.0.1' && url.origin !== issuer);
    },
    async approveUserCode(userCode) {
      const browser = new CookieBrowser(issuer);
      const form = await browser.text(`${issuer}/device`);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1];
      if (!xsrf) throw new Error('no xsrf field on the device page');
      const confirm = await browser.text(`${issuer}/device`, { xsrf, user_code: userCode });
      const xsrf2 = /name="xsrf" value="([^"]+)"/.exec(confirm)?.[1];
      if (!xsrf2) throw new Error(`the device page did not ask to confirm: ${confirm.slice(0, 300)}`);
      let done = await browser.follow(`${issuer}/device`, undefined, { xsrf: xsrf2, user_code: userCode, confirm: 'yes' });
      // The provider answers with an auto-submitting form (form_post) to its device callback.
      const action = /<form method="post" action="([^"]+)"/.exec(done)?.[1];
      if (action) {
        const fields = Object.fromEntries([...done.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], decodeEntities(m[2])]));
        done = await browser.follow(decodeEntities(action), undefined, fields);
      }
      if (!/success/i.test(done)) throw new Error(`the device sign-in did not succeed: ${done.slice(0, 300)}`);
    },
    async denyUserCode(userCode) {
      const browser = new CookieBrowser(issuer);
      const form = await browser.text(`${issuer}/device`);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1];
      if (!xsrf) throw new Error('no xsrf field on the device page');
      const confirm = await browser.text(`${issuer}/device`, { xsrf, user_code: userCode });
      const xsrf2 = /name="xsrf" value="([^"]+)"/.exec(confirm)?.[1];
      if (!xsrf2) throw new Error(`the device page did not ask to confirm: ${confirm.slice(0, 300)}`);
      // The confirmation page's "[ Abort ]" button.
      const done = await browser.follow(`${issuer}/device`, undefined, { xsrf: xsrf2, user_code: userCode, abort: 'yes' });
      if (!/request was interrupted/i.test(done)) throw new Error(`the device sign-in was not aborted: ${done.slice(0, 300)}`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Signs the account in and grants every scope asked for, in one step (no login or consent page). */
async function finishInteraction(provider: InteractionProvider, req: IncomingMessage, res: ServerResponse, account: string): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const grant = new provider.Grant({ accountId: account, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId: account }, consent: { grantId } }, { mergeWithLastSubmission: false });
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

/** Just enough of a browser: a cookie jar and redirects followed by hand. */
class CookieBrowser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly origin: string) {}

  private cookieHeader(url: URL): Record<string, string> {
    if (url.origin !== this.origin || this.jar.size === 0) return {};
    return { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  private store(url: URL, response: Response): void {
    if (url.origin !== this.origin) return;
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  private async request(url: URL, form?: Record<string, string>): Promise<Response> {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { ...this.cookieHeader(url), ...(form && { 'content-type': 'application/x-www-form-urlencoded' }) },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    this.store(url, response);
    return response;
  }

  async text(url: string, form?: Record<string, string>): Promise<string> {
    const response = await this.request(new URL(url), form);
    return response.text();
  }

  /**
   * Requests `start` and follows redirects until `done(url)` was requested (without `done`: until
   * a page that does not redirect); returns the last page's text.
   */
  async follow(start: string, done?: (url: URL) => boolean, form?: Record<string, string>): Promise<string> {
    let url = new URL(start);
    let body = form;
    for (let hop = 0; hop < 15; hop++) {
      const response = await this.request(url, body);
      body = undefined;
      const location = response.headers.get('location');
      const text = await response.text();
      if (done ? done(url) : !location) {
        if (response.status >= 400) throw new Error(`${url.pathname} answered ${response.status}: ${text.slice(0, 300)}`);
        return text;
      }
      if (!location) throw new Error(`stopped at ${url.pathname} (${response.status}): ${text.slice(0, 300)}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects');
  }
}
