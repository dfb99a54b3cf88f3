import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApprovalService } from '../../../../gateway/src/approvals/service';
import { ApprovalStore } from '../../../../gateway/src/approvals/store';
import { CookieSealer, LOGIN_COOKIE, SESSION_COOKIE } from '../../../../gateway/src/admin/console/cookies';
import { CONTENT_SECURITY_POLICY, createConsole } from '../../../../gateway/src/admin/console/router';
import type { Principal } from '../../../../gateway/src/identity/principal';
import { silentLogger } from '../../../../gateway/src/observability/logger';
import type { Decision, Operation } from '../../../../gateway/src/policy/decision';
import { SqlSessionSearch } from '../../../../gateway/src/state/session-search';
import { createSessionIndex, type SqlSessionIndex } from '../../../../gateway/src/state/sql-session-index';
import { testPrincipal } from '../../../support/principals';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../../support/real-pipeline';
import type { ConnectionConfig } from '../../../../gateway/src/config/schema';

/**
 * The console's routes without a browser: security headers, login redirect and cookies, CSRF and
 * Origin on POST, and who sees what, against the real session search (PGlite) and the real
 * approval service. The OIDC flow itself runs in console.e2e.test.ts against oidc-provider.
 */
const EXTERNAL = 'https://console.test';
const ISSUER = 'https://idp.test';
const admin = testPrincipal('root', { groups: ['gatehouse-admins'], issuer: ISSUER });
const alice = testPrincipal('alice', { groups: ['developers'], issuer: ISSUER });
const bob = testPrincipal('bob', { groups: ['developers'], issuer: ISSUER });
const grace = testPrincipal('grace', { groups: ['approvers'], issuer: ISSUER });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

let base = '';
function call(path: string, o: { cookie?: string; method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.cookie !== undefined) headers.cookie = o.cookie;
    if (o.body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const req = request(`${base}${path}`, { method: o.method ?? 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

describe('web console routes', () => {
  let index: SqlSessionIndex;
  let server: Server;
  let approvals: ApprovalService;
  const sealer = CookieSealer.generate();
  const cookies = new Map<string, { cookie: string; csrf: string }>();
  const loginAs = async (p: Principal): Promise<{ cookie: string; csrf: string }> => {
    const { value, session } = await sealer.sealSession(p, 600);
    return { cookie: `${SESSION_COOKIE}=${value}`, csrf: session.csrf };
  };

  beforeAll(async () => {
    index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.init();
    const start = (id: string, p: Principal, minute: number) =>
      index.sessionStarted({ id, protocol: 'http', connection: 'anthropic', subject: p.subject, userName: p.name, issuer: p.issuer, groups: [...p.groups], clientAddress: null, startedAt: new Date(Date.UTC(2026, 0, 1, 9, minute)), status: 'open' });
    await start('sess-alice', alice, 1);
    await start('sess-bob', bob, 2);
    const store = new ApprovalStore(index.store);
    await store.init();
    approvals = new ApprovalService({ store, approverGroups: ['approvers'], timeoutSeconds: 300, minApprovals: 1, pollIntervalMs: 20, logger: silentLogger() });
    await approvals.init();
    const handler = createConsole({
      sealer,
      login: {
        // The issuer side is exercised in the browser test; here only the redirect and its cookie.
        start: async (returnTo) => ({ url: `${ISSUER}/auth?state=s`, login: { state: 's', nonce: 'n', codeVerifier: 'v', returnTo } }),
        finish: async () => alice,
      },
      externalUrl: EXTERNAL,
      sessionSeconds: 600,
      adminGroups: ['gatehouse-admins'],
      search: new SqlSessionSearch(index),
      index,
      readSession: async (id) => ({ session: { id }, events: [{ seq: 1, time: '2026-01-01T09:01:00Z', type: 'session.start', code: 'GH1000I', payload: { note: '<script>alert(1)</script>' } }] }),
      approvals,
      logger: silentLogger(),
    });
    server = createServer((req, res) => {
      void handler.handle(req, res).then((served) => {
        if (!served) res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const [name, p] of [['admin', admin], ['alice', alice], ['bob', bob], ['grace', grace]] as const) cookies.set(name, await loginAs(p));
  }, 60000);
  afterAll(async () => {
    await approvals.close();
    await new Promise<void>((r) => server.close(() => r()));
    await index.close();
  });

  it('sends a strict CSP and the other security headers on pages and errors', async () => {
    for (const path of ['/console/welcome', '/console/sessions', '/console/nope']) {
      const r = await call(path, { cookie: cookies.get('admin')!.cookie });
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('serves its CSS and JS from the bundle with the right types', async () => {
    const css = await call('/console/static/console.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const js = await call('/console/static/console.js');
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await call('/console/static/console.js', { headers: { 'if-none-match': js.headers.etag as string } })).status).toBe(304);
  });

  it('sends someone without a session to log in, with an encrypted __Host- login cookie', async () => {
    const r = await call('/console/sessions?user=x');
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/console/login?return_to=%2Fconsole%2Fsessions%3Fuser%3Dx');
    const login = await call(r.headers.location as string);
    expect(login.headers.location).toBe(`${ISSUER}/auth?state=s`);
    const set = String(login.headers['set-cookie']);
    expect(set).toMatch(new RegExp(`^${LOGIN_COOKIE}=`));
    expect(set).toMatch(/; Path=\/; Secure; HttpOnly; SameSite=Lax/);
    // The verifier and state are not readable in the cookie.
    expect(set).not.toContain('"v"');
    expect(await sealer.openLogin(set.split(';')[0]!.split('=')[1])).toMatchObject({ returnTo: '/console/sessions?user=x' });
  });

  it('never sends people back to another site after login', async () => {
    const login = await call('/console/login?return_to=//evil.example/x');
    expect(await sealer.openLogin(String(login.headers['set-cookie']).split(';')[0]!.split('=')[1])).toMatchObject({ returnTo: '/console/sessions' });
  });

  it('refuses a forged or foreign cookie as no session at all', async () => {
    const other = await new CookieSealer(Buffer.alloc(32, 7)).sealSession(admin, 600);
    expect((await call('/console/sessions', { cookie: `${SESSION_COOKIE}=${other.value}` })).status).toBe(303);
    expect((await call('/console/sessions', { cookie: `${SESSION_COOKIE}=garbage` })).status).toBe(303);
    // A login cookie is not a session.
    const login = await sealer.sealLogin({ state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/console/sessions' });
    expect((await call('/console/sessions', { cookie: `${SESSION_COOKIE}=${login}` })).status).toBe(303);
  });

  it('shows admins every session and anyone else only their own, on the list, the page and the export', async () => {
    const adminList = await call('/console/sessions', { cookie: cookies.get('admin')!.cookie });
    expect(adminList.text).toContain('sess-alice');
    expect(adminList.text).toContain('sess-bob');
    const aliceList = await call('/console/sessions', { cookie: cookies.get('alice')!.cookie });
    expect(aliceList.text).toContain('sess-alice');
    expect(aliceList.text).not.toContain('sess-bob');
    // A filter naming someone else cannot widen it.
    expect((await call('/console/sessions?user=bob', { cookie: cookies.get('alice')!.cookie })).text).not.toContain('sess-bob');
    expect((await call('/console/sessions/sess-bob', { cookie: cookies.get('alice')!.cookie })).status).toBe(404);
    expect((await call('/console/sessions/sess-bob/export.json', { cookie: cookies.get('alice')!.cookie })).status).toBe(404);
    expect((await call('/console/sessions/sess-alice', { cookie: cookies.get('alice')!.cookie })).status).toBe(200);
    const exported = await call('/console/sessions/sess-bob/export.json', { cookie: cookies.get('admin')!.cookie });
    expect(exported.status).toBe(200);
    expect(exported.headers['content-disposition']).toBe('attachment; filename="session-sess-bob.json"');
  });

  it('escapes session content on the page', async () => {
    const page = await call('/console/sessions/sess-alice', { cookie: cookies.get('alice')!.cookie });
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('refuses a misspelt or invalid filter with a visible error, never a wider list', async () => {
    for (const query of ['usr=bob', 'decision=maybe', 'from=yesterday']) {
      const r = await call(`/console/sessions?${query}`, { cookie: cookies.get('admin')!.cookie });
      expect(r.status).toBe(400);
      expect(r.text).toContain('GH_ERR_REQUEST_INVALID');
      expect(r.text).not.toContain('sess-bob');
    }
  });

  describe('approvals', () => {
    let id: string;
    let decision: Promise<Decision>;
    const operation: Operation = { protocol: 'http', action: 'http:DELETE', attributes: { method: 'DELETE', path: '/users/7' }, summary: 'DELETE /users/7' };
    const connection = { name: 'api', kind: 'http', upstream: 'http://127.0.0.1:1', route: { pathPrefix: '/api', stripPrefix: true } } as unknown as ConnectionConfig;

    // The waiting operation's session: a real pipeline's, which the approval service records into.
    let world: PipelineWorld;
    let env: RealPipeline;
    beforeAll(async () => {
      world = await startPipelineWorld();
      env = await startRealPipeline({ world, policy: 'permit (principal, action, resource);' });
      const session = await env.pipeline.openSession(alice, connection, 'http', { address: '127.0.0.1' });
      decision = approvals.review(session, operation, 'r-1', { effect: 'review', code: 'policy.review', reasons: ['sql-guardrails/unbounded-delete'], message: 'needs review' });
      id = (await env.waitForEvent('approval.requested', (e) => e.session === session.id)).payload.approvalId as string;
    }, 60_000);
    afterAll(async () => {
      await env?.close();
      await world?.close();
    });

    it('lists waiting operations to approvers with who, what and why, and refuses others', async () => {
      const page = await call('/console/approvals', { cookie: cookies.get('grace')!.cookie });
      expect(page.status).toBe(200);
      expect(page.text).toContain('DELETE /users/7');
      expect(page.text).toContain('sql-guardrails/unbounded-delete');
      expect(page.text).toContain('data-live="/console/approvals/events"');
      expect((await call('/console/approvals', { cookie: cookies.get('bob')!.cookie })).status).toBe(403);
      expect((await call(`/console/approvals/${id}`, { cookie: cookies.get('bob')!.cookie })).status).toBe(403);
    });

    it('refuses a decision without the CSRF token or from another origin', async () => {
      const g = cookies.get('grace')!;
      const noToken = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: g.cookie, body: 'verdict=approve', headers: { origin: EXTERNAL } });
      expect(noToken.status).toBe(403);
      expect(noToken.text).toContain('CSRF');
      const wrongToken = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: g.cookie, body: `verdict=approve&csrf=${cookies.get('alice')!.csrf}`, headers: { origin: EXTERNAL } });
      expect(wrongToken.status).toBe(403);
      const crossSite = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: g.cookie, body: `verdict=approve&csrf=${g.csrf}`, headers: { origin: 'https://evil.example' } });
      expect(crossSite.status).toBe(403);
      // An opaque Origin (what no-referrer pages send) passes only when the fetch metadata says same-origin.
      const opaqueCrossSite = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: g.cookie, body: `verdict=approve&csrf=${g.csrf}`, headers: { origin: 'null', 'sec-fetch-site': 'cross-site' } });
      expect(opaqueCrossSite.status).toBe(403);
      expect((await approvals.get(id)).status).toBe('pending');
    });

    it('refuses self-approval and non-approvers exactly as the service does', async () => {
      const selfApprover = await loginAs(testPrincipal('alice', { groups: ['developers', 'approvers'], issuer: ISSUER }));
      const self = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: selfApprover.cookie, body: `verdict=approve&csrf=${selfApprover.csrf}`, headers: { origin: EXTERNAL } });
      expect(self.status).toBe(403);
      expect(self.text).toContain('GH_ERR_APPROVAL_SELF');
      const a = cookies.get('admin')!;
      const adminTry = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: a.cookie, body: `verdict=approve&csrf=${a.csrf}`, headers: { origin: EXTERNAL } });
      expect(adminTry.status).toBe(403);
      expect(adminTry.text).toContain('GH_ERR_APPROVAL_NOT_APPROVER');
      expect((await approvals.get(id)).status).toBe('pending');
    });

    it('decides with a reason through the service and releases the waiting operation', async () => {
      const g = cookies.get('grace')!;
      const r = await call(`/console/approvals/${id}/decide`, { method: 'POST', cookie: g.cookie, body: `verdict=deny&reason=${encodeURIComponent('not now')}&csrf=${g.csrf}`, headers: { origin: EXTERNAL } });
      expect(r.status).toBe(303);
      expect(r.headers.location).toBe(`/console/approvals/${id}?decided=deny`);
      expect(await decision).toMatchObject({ effect: 'deny' });
      const a = await approvals.get(id);
      expect(a).toMatchObject({ status: 'denied', reason: 'not now' });
    });
  });

  it('logs out only with the CSRF token', async () => {
    const a = cookies.get('alice')!;
    expect((await call('/console/logout', { method: 'POST', cookie: a.cookie, body: 'csrf=wrong' })).status).toBe(403);
    const out = await call('/console/logout', { method: 'POST', cookie: a.cookie, body: `csrf=${a.csrf}` });
    expect(out.status).toBe(303);
    expect(String(out.headers['set-cookie'])).toContain(`${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`);
  });
});
