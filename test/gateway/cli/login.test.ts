import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loginCommand } from '../../../gateway/src/cli/commands/login';
import { logoutCommand } from '../../../gateway/src/cli/commands/logout';
import { tokenCommand } from '../../../gateway/src/cli/commands/token';
import { saveLogin, tokensDir } from '../../../gateway/src/cli/login/token-cache';
import { isGatehouseError } from '../../../gateway/src/errors';
import { identityVerifierFromConfig } from '../../../gateway/src/identity/from-config';
import type { GatewayIdentityVerifier } from '../../../gateway/src/identity/verifier';
import { startTestGateway, type TestGateway } from '../../support/gateway';
import { buildGatewayBundle } from '../../support/gateway-process';
import { LOGIN_CLIENT_ID, startLoginIssuer, type LoginIssuer } from '../../support/oidc-login-issuer';

/**
 * `gatehouse login` / `token` / `logout` against a real oidc-provider and a real gateway: the
 * gateway publishes its login document, the CLI signs in (the browser's part played over HTTP,
 * the device code approved through the provider's own pages), caches the tokens, refreshes them
 * near expiry, and the gateway's own verifier accepts what it prints.
 */
describe('gatehouse login, token, logout', () => {
  let idp: LoginIssuer;
  let tg: TestGateway;
  let verifier: GatewayIdentityVerifier;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let buildDir: string;
  let bundle: string;

  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };
  /** Runs a command; a GatehouseError becomes exit 1 with its code (as main.ts does). */
  const run = async (command: (c: ReturnType<typeof io>) => Promise<number>) => {
    const c = io();
    try {
      return { ...c, code: await command(c) };
    } catch (e) {
      if (!isGatehouseError(e)) throw e;
      c.err.push(`${e.message} [${e.code}]`);
      return { ...c, code: 1 };
    }
  };
  const signInWithBrowser = () => run((c) => loginCommand([tg.url], c.io, { env, openBrowser: async (url) => (await idp.signInAt(url), true) }));

  beforeAll(async () => {
    // ID tokens live 120 s: under `token`'s default 300 s margin, so the next `token` refreshes.
    buildDir = mkdtempSync(join(tmpdir(), 'gh-login-bundle-'));
    const built = buildGatewayBundle(buildDir);
    idp = await startLoginIssuer({ idTokenTtl: 120 });
    tg = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: idp.issuer, audiences: [LOGIN_CLIENT_ID], groupsClaim: 'groups' }] },
      login: { issuer: 'corp', clientId: LOGIN_CLIENT_ID, scopes: ['openid', 'email', 'groups', 'offline_access'] },
    }));
    verifier = await identityVerifierFromConfig(tg.config);
    bundle = await built;
  }, 60_000);
  afterAll(async () => {
    verifier?.close();
    await tg?.stop();
    await idp?.close();
    rmSync(buildDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'gh-login-'));
    env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') };
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const cacheFiles = () => readdirSync(tokensDir(env)).filter((f) => f.endsWith('.json'));

  test('browser sign-in (code + PKCE, loopback redirect) caches a token the gateway accepts, in files only the user can read', async () => {
    const login = await signInWithBrowser();
    expect(login.err.join('\n')).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+ .*refreshed automatically/);
    expect(login.code).toBe(0);
    expect(login.out).toEqual([]);

    const files = cacheFiles();
    expect(files).toHaveLength(1);
    expect(statSync(tokensDir(env)).mode & 0o777).toBe(0o700);
    expect(statSync(join(tokensDir(env), files[0])).mode & 0o777).toBe(0o600);
    expect(readdirSync(tokensDir(env)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const token = await run((c) => tokenCommand([tg.url, '--min-valid', '0'], c.io, { env }));
    expect(token.code).toBe(0);
    const principal = await verifier.verify(token.out[0]);
    expect(principal).toMatchObject({ issuer: idp.issuer, subject: 'alice', groups: ['developers'] });
    // Without an argument: the gateway of the last login.
    expect((await run((c) => tokenCommand(['--min-valid', '0'], c.io, { env }))).out).toEqual(token.out);
  });

  test('a callback whose state does not match is refused and nothing is cached', async () => {
    const login = await run((c) =>
      loginCommand([tg.url], c.io, {
        env,
        openBrowser: async (url) => {
          const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
          redirect.search = new URLSearchParams({ code: 'forged', state: 'not-the-state', iss: idp.issuer }).toString();
          await fetch(redirect);
          return true;
        },
      }),
    );
    expect(login.code).toBe(1);
    expect(login.err.join('\n')).toMatch(/GH_ERR_LOGIN_FAILED/);
    expect(() => cacheFiles()).toThrow();
  });

  test('near expiry, token refreshes silently with the refresh token and caches the new one', async () => {
    expect((await signInWithBrowser()).code).toBe(0);
    const refreshesBefore = idp.grants.refresh_token ?? 0;

    const refreshed = await run((c) => tokenCommand([tg.url], c.io, { env }));
    expect(refreshed.code).toBe(0);
    expect(idp.grants.refresh_token).toBe(refreshesBefore + 1);
    expect(await verifier.verify(refreshed.out[0])).toMatchObject({ subject: 'alice' });
    // The cache now holds the new token (still one file, still 0600).
    expect((await run((c) => tokenCommand([tg.url, '--min-valid', '0'], c.io, { env }))).out).toEqual(refreshed.out);
    expect(cacheFiles()).toHaveLength(1);
    expect(statSync(join(tokensDir(env), cacheFiles()[0])).mode & 0o777).toBe(0o600);
  });

  test('concurrent token calls near expiry refresh once and all get the new token', async () => {
    expect((await signInWithBrowser()).code).toBe(0);
    const before = idp.grants.refresh_token ?? 0;
    const results = await Promise.all([1, 2, 3].map(() => run((c) => tokenCommand([tg.url], c.io, { env }))));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(idp.grants.refresh_token).toBe(before + 1);
    expect(new Set(results.map((r) => r.out[0])).size).toBe(1);
    expect(readdirSync(tokensDir(env)).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  test('gatehouse-token prints the cached token without Node; near expiry the Node command it runs refreshes at the issuer and rewrites its entry', async () => {
    expect((await signInWithBrowser()).code).toBe(0);
    const helper = join(dirname(bundle), 'gatehouse-token');
    const shell = (margin: string, ...fallback: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(helper, ['--min-valid', margin, tg.url, '--', ...fallback], { env: { ...env, PATH: '/usr/bin:/bin' } }, (error, stdout) =>
          resolve({ code: error ? Number(error.code) || 1 : 0, out: String(stdout).trim() }),
        );
      });
    const before = idp.grants.refresh_token ?? 0;
    // The ID token lives 120 s: fresh for a 60 s margin. /bin/false as the Node command proves
    // the helper answered alone.
    const cached = await shell('60', '/bin/false');
    expect(cached.code).toBe(0);
    expect(await verifier.verify(cached.out)).toMatchObject({ subject: 'alice' });
    // A 200 s margin: the helper runs the real Node command, which refreshes.
    const refreshed = await shell('200', process.execPath, bundle);
    expect(refreshed.code).toBe(0);
    expect(idp.grants.refresh_token).toBe(before + 1);
    expect(await verifier.verify(refreshed.out)).toMatchObject({ subject: 'alice' });
    // The refresh rewrote the entry: the helper alone serves the new token.
    expect(await shell('60', '/bin/false')).toEqual({ code: 0, out: refreshed.out });
    expect(idp.grants.refresh_token).toBe(before + 1);
  });

  test('device flow: the code is approved through the provider, the token is cached', async () => {
    idp.account = 'bob';
    try {
      const approvals: Promise<void>[] = [];
      const login = await run((c) =>
        loginCommand(['--device', tg.url], { out: c.io.out, err: (line) => {
          c.io.err(line);
          const code = /enter the code:\s+(\S+)/.exec(line)?.[1];
          if (code) approvals.push(idp.approveUserCode(code));
        } }, { env }),
      );
      await Promise.all(approvals);
      expect(login.err.join('\n')).toMatch(/visit:\s+http:\/\/127\.0\.0\.1:\d+\/device/);
      expect(login.code).toBe(0);
      const token = await run((c) => tokenCommand([tg.url, '--min-valid', '0'], c.io, { env }));
      expect(await verifier.verify(token.out[0])).toMatchObject({ subject: 'bob' });
    } finally {
      idp.account = 'alice';
    }
  }, 90_000);

  test('logout removes the cached tokens; token then fails without printing one', async () => {
    expect((await signInWithBrowser()).code).toBe(0);
    expect(cacheFiles()).toHaveLength(1);
    const logout = await run((c) => logoutCommand([tg.url], c.io, { env }));
    expect(logout.code).toBe(0);
    expect(cacheFiles()).toEqual([]);
    const token = await run((c) => tokenCommand([tg.url], c.io, { env }));
    expect(token.code).toBe(1);
    expect(token.out).toEqual([]);
    expect(token.err.join('\n')).toMatch(/not logged in to .*run gatehouse login .*GH_ERR_NOT_LOGGED_IN/);
  });

  test('an expired login without a refresh token fails with a clear message and no token content', async () => {
    const stale = 'eyJhbGciOiJub25lIn0.eyJleHAiOjF9.c3RhbGUtc2VjcmV0';
    saveLogin({ gateway: tg.url, issuer: idp.issuer, clientId: LOGIN_CLIENT_ID, scopes: ['openid'], idToken: stale, expiresAt: Math.floor(Date.now() / 1000) - 10 }, env);
    const token = await run((c) => tokenCommand([tg.url], c.io, { env }));
    expect(token.code).toBe(1);
    expect(token.out).toEqual([]);
    expect(token.err.join('\n')).toMatch(/expired and the issuer gave no refresh token/);
    expect(token.err.join('\n')).not.toContain('c3RhbGUtc2VjcmV0');
  });

  test('a gateway without login says so', async () => {
    const plain = await startTestGateway(() => ({ identity: { issuers: [{ name: 'corp', issuer: idp.issuer, audiences: ['x'] }] } }));
    try {
      const login = await run((c) => loginCommand([plain.url], c.io, { env, openBrowser: async () => true }));
      expect(login.code).toBe(1);
      expect(login.err.join('\n')).toMatch(/does not offer login.*GH_ERR_LOGIN_NOT_CONFIGURED/);
    } finally {
      await plain.stop();
    }
  });
});

describe('gatehouse token --ambient (workloads)', () => {
  const jwt = (exp: number) => `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'repo:acme/api', exp })).toString('base64url')}.sig`;
  const later = () => Math.floor(Date.now() / 1000) + 600;
  const run = async (argv: string[], env: NodeJS.ProcessEnv) => {
    const out: string[] = [];
    try {
      return { code: await tokenCommand(argv, { out: (l) => out.push(l), err: () => {} }, { env }), out, error: '' };
    } catch (e) {
      if (!isGatehouseError(e)) throw e;
      return { code: 1, out, error: `${e.message} [${e.code}]` };
    }
  };

  let actions: Server;
  let actionsUrl: string;
  const seen: { auth?: string; audience?: string | null }[] = [];
  const token = jwt(later());
  beforeAll(async () => {
    // Stands in for GitHub Actions' ID token endpoint: the bearer and the audience query are what it checks.
    actions = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ auth: req.headers.authorization, audience: url.searchParams.get('audience') });
      if (req.headers.authorization !== 'bearer request-token') return void res.writeHead(403).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: token }));
    });
    await new Promise<void>((resolve) => actions.listen(0, '127.0.0.1', resolve));
    actionsUrl = `http://127.0.0.1:${(actions.address() as AddressInfo).port}/token?api-version=2.0`;
  });
  afterAll(() => new Promise((resolve) => actions.close(resolve)));

  test('GitHub Actions: asks for the audience with the request token', async () => {
    const r = await run(['--ambient', '--audience', 'gatehouse'], { ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' });
    expect(r).toEqual({ code: 0, out: [token], error: '' });
    expect(seen.at(-1)).toEqual({ auth: 'bearer request-token', audience: 'gatehouse' });
    expect((await run(['--ambient'], { ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token' })).error).toMatch(/needs --audience/);
    expect((await run(['--ambient', '--audience', 'g'], { ACTIONS_ID_TOKEN_REQUEST_URL: actionsUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' })).error).toMatch(/answered 403 .*id-token: write/);
    expect((await run(['--ambient', '--audience', 'g'], {})).error).toMatch(/no ambient token.*GH_ERR_AMBIENT_TOKEN/);
  });

  test('a token file and an environment variable; expired or non-JWT content is refused without echoing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-ambient-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, `${token}\n`);
      expect((await run(['--token-file', file], {})).out).toEqual([token]);
      expect((await run(['--token-env', 'CI_ID_TOKEN'], { CI_ID_TOKEN: token })).out).toEqual([token]);
      writeFileSync(file, jwt(1000));
      expect((await run(['--token-file', file], {})).error).toMatch(/has expired/);
      expect((await run(['--token-env', 'CI_ID_TOKEN'], { CI_ID_TOKEN: 'hunter2-not-a-jwt' })).error).toMatch(/^\$CI_ID_TOKEN does not hold a JWT/);
      expect((await run(['--token-file', join(dir, 'missing')], {})).error).toMatch(/ENOENT/);
      expect(readFileSync(file, 'utf8')).toBe(jwt(1000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
