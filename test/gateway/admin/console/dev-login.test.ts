import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { LOGIN_COOKIE, SESSION_COOKIE } from '../../../../gateway/src/admin/console/cookies';
import { consoleFromConfig } from '../../../../gateway/src/admin/console/from-config';
import { CONTENT_SECURITY_POLICY } from '../../../../gateway/src/admin/console/router';
import { mintDevToken } from '../../../../gateway/src/identity/dev-issuer';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { startEcho, type Upstream } from '../../../support/upstreams';
import { freePort } from '../../../support/ports';

/**
 * The console logged into with the development issuer (console.issuer: dev), on its own listener
 * (listeners.console), over real HTTP against a whole gateway: the form, the state cookie, the
 * Origin check, the Principal as the verifier reads the development token, who sees what; the admin
 * listener then has no console, and the console listener nothing else. The browser drives the same
 * flow in dev-console.e2e.test.ts (`gatehouse dev`).
 */

/** `name=value` of one Set-Cookie header line. */
function cookieOf(res: Response, name: string): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  expect(line).toBeDefined();
  return line!.split(';')[0]!;
}

describe('console: development login on its own listener', () => {
  let gw: TestGateway;
  let echo: Upstream;
  let consoleUrl: string;

  beforeAll(async () => {
    echo = await startEcho();
    const port = await freePort();
    consoleUrl = `http://127.0.0.1:${port}`;
    gw = await startTestGateway((dir) => ({
      listeners: { console: { address: '127.0.0.1', port } },
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      policy: { cedar: 'permit (principal in Gatehouse::Group::"developers", action, resource);' },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
      admin: { groups: ['gatehouse-admins'] },
      console: { enabled: true, issuer: 'dev', externalUrl: consoleUrl },
    }));
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
  });

  /** GET the form, POST it as `subject` in `groups`: the reply to the POST. */
  const logIn = async (subject: string, groups: string, tweak: { origin?: string; state?: string; noCookie?: boolean } = {}): Promise<Response> => {
    const form = await fetch(`${consoleUrl}/console/login?return_to=${encodeURIComponent('/console/sessions?user=x')}`, { redirect: 'manual' });
    expect(form.status).toBe(200);
    const page = await form.text();
    const state = /name="state" value="([^"]+)"/.exec(page)![1]!;
    return fetch(`${consoleUrl}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: tweak.origin ?? consoleUrl,
        ...(tweak.noCookie ? {} : { cookie: cookieOf(form, LOGIN_COOKIE) }),
      },
      body: new URLSearchParams({ state: tweak.state ?? state, subject, groups }).toString(),
    });
  };

  it('asks who you are (prefilled with the admin groups) under the strict CSP', async () => {
    const first = await fetch(`${consoleUrl}/console/sessions`, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/console/login?return_to=%2Fconsole%2Fsessions');
    const form = await fetch(`${consoleUrl}/console/login`, { redirect: 'manual' });
    expect(form.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const text = await form.text();
    expect(text).toContain('<form class="dev-login" method="post" action="/console/login">');
    expect(text).toContain('name="groups" value="gatehouse-admins"');
    expect(cookieOf(form, LOGIN_COOKIE)).toMatch(/^__Host-gatehouse-console-login=ey/);
  });

  it('logs in with a development token the verifier accepted: a developer sees only their own sessions', async () => {
    const token = await mintDevToken({ subject: 'alice', groups: ['developers'], keyPath: gw.config.identity.devIssuer.keyPath, createKey: false });
    const other = await mintDevToken({ subject: 'bob', groups: ['developers'], keyPath: gw.config.identity.devIssuer.keyPath, createKey: false });
    expect((await fetch(`${gw.url}/api/alice-was-here`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${gw.url}/api/bob-was-here`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(200);

    const done = await logIn('alice', 'developers');
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/console/sessions?user=x');
    const session = cookieOf(done, SESSION_COOKIE);
    const list = await fetch(`${consoleUrl}/console/sessions`, { headers: { cookie: session } });
    const text = await list.text();
    expect(text).toContain('You see your own sessions');
    expect(text).toContain('<span title="urn:gatehouse:dev">alice</span>');
    expect(text).not.toContain('bob');
    expect((text.match(/<tr data-row>/g) ?? []).length).toBe(1);
  });

  it('an admin (the prefilled groups) sees everyone', async () => {
    const session = cookieOf(await logIn('root', 'gatehouse-admins'), SESSION_COOKIE);
    const text = await (await fetch(`${consoleUrl}/console/sessions`, { headers: { cookie: session } })).text();
    expect(text).toContain('alice');
    expect(text).toContain('bob');
  });

  it('refuses a form from another origin, a forged or missing state, and names that are not names', async () => {
    expect((await logIn('mallory', 'gatehouse-admins', { origin: 'https://evil.example' })).status).toBe(403);
    const forged = await logIn('mallory', 'gatehouse-admins', { state: 'x'.repeat(32) });
    expect(forged.status).toBe(400);
    expect(forged.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=ey`))).toBe(false);
    expect((await logIn('mallory', 'gatehouse-admins', { noCookie: true })).status).toBe(400);
    const bad = await logIn('<script>', 'developers');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('GH_ERR_REQUEST_INVALID');
    expect((await logIn('eve', 'a;b')).status).toBe(400);
  });

  it('serves only the console on the console listener, and no console on the admin listener', async () => {
    const root = await fetch(`${consoleUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/console/');
    expect((await fetch(`${consoleUrl}/api/sessions`)).status).toBe(404);
    expect((await fetch(`${consoleUrl}/metrics`)).status).toBe(404);
    const onAdmin = await fetch(`${gw.adminUrl}/console/login`, { redirect: 'manual' });
    expect(onAdmin.status).toBe(404);
    expect(onAdmin.headers.get('content-type')).toMatch(/json/);
    expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);
  });

  it('refuses the development login to a client that is not on this host', async () => {
    const handler = await consoleFromConfig(gw.config, {
      secrets: { get: async () => '' },
      verifier: { verify: async () => Promise.reject(new Error('never reached')) } as never,
      search: { supports: new Set(), search: async () => ({ rows: [], nextCursor: null }) } as never,
      index: { get: async () => undefined },
      readSession: async () => ({}),
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const socket = new Socket();
    Object.defineProperty(socket, 'remoteAddress', { value: '192.0.2.7' });
    const req = new IncomingMessage(socket);
    req.method = 'GET';
    req.url = '/console/login';
    const res = new ServerResponse(req);
    expect(await handler!.handle(req, res)).toBe(true);
    expect(res.statusCode).toBe(403);
    socket.destroy();
  });
});
