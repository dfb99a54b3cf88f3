import { startTestGateway, type TestGateway } from '../support/gateway';
import { rawRequest, startNginx, type RunningNginx } from '../support/nginx';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer';

/**
 * Issue 15, class 1 (parser differentials), through the whole gateway to a real nginx that
 * normalizes the request URI the way upstreams do. Policy forbids `/admin*` and the connection is
 * confined to its upstream base path; each request below reaches a forbidden place on a gateway
 * that judges the raw target (nginx answers ADMIN or SECRET), and must be refused here.
 */
const POLICY = `
@id("everyone")
permit (principal, action, resource);

@id("no-admin")
forbid (principal, action, resource) when { context has path && context.path like "/admin*" };
`;

const NGINX_SERVER = `
    location /admin { return 200 "ADMIN\\n"; }
    location /secret { return 200 "SECRET\\n"; }
    location /base/ { return 200 "BASE $uri\\n"; }
    location / { return 200 "PUBLIC $uri\\n"; }
`;

describe('security: HTTP request-target differentials (real nginx upstream)', () => {
  let issuer: TestIssuer;
  let nginx: RunningNginx;
  let gw: TestGateway;
  let token: string;
  let port: number;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    nginx = await startNginx(NGINX_SERVER);
    gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], groupsClaim: 'groups', algorithms: ['RS256'] }] },
      policy: { cedar: POLICY },
      connections: [
        // The whole nginx, path-routed: policy must see what nginx serves.
        { name: 'web', kind: 'http', upstream: `${nginx.url}/`, route: { pathPrefix: '/web' } },
        // Confined to /base/ on the upstream.
        { name: 'based', kind: 'http', upstream: `${nginx.url}/base/`, route: { pathPrefix: '/api' } },
        // Host-routed.
        { name: 'hosted', kind: 'http', upstream: `${nginx.url}/`, route: { host: 'api.test' } },
      ],
    }));
    token = await issuer.mintToken({ sub: 'mallory', groups: ['developers'] });
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    await gw?.stop();
    await nginx?.stop();
    await issuer?.close();
  });

  const get = (target: string, host = `127.0.0.1:${port}`) => rawRequest(port, `GET ${target} HTTP/1.1`, { host, authorization: `Bearer ${token}` });

  it('sanity: the plain forbidden path is denied and a public one is served', async () => {
    expect((await get('/web/admin')).status).toBe(403);
    const ok = await get('/web/hello');
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('PUBLIC /hello\n');
  });

  it.each([
    ['/web/%61dmin', 'encoded unreserved characters'],
    ['/web/%61%64%6D%69%6E', 'encoded unreserved characters, mixed-case hex'],
    ['/web//admin', 'repeated slashes'],
    ['/web/x/../admin', 'a dot segment'],
    ['/web/x/%2e%2e/admin', 'an encoded dot segment'],
    ['/web/x/.%2E/admin', 'a half-encoded dot segment'],
    ['/web/./admin', 'a single-dot segment'],
  ])('%s (%s) is judged as /admin and denied; nginx never answers ADMIN', async (target) => {
    const r = await get(target);
    expect(r.body).not.toContain('ADMIN');
    expect(r.status).toBe(403);
    expect(r.body).toContain('GH_ERR_POLICY_DENIED');
  });

  it.each([
    ['/web/a%2f..%2fadmin', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/web/%2e%2e/web/admin', 'GH_ERR_TARGET_ESCAPES_PREFIX'],
    ['/web/admin;x', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/web/%252e%252e/admin', 'GH_ERR_TARGET_AMBIGUOUS'],
    ['/web/%c0%ae%c0%ae/admin', 'GH_ERR_TARGET_INVALID'],
    ['/web/admin%00', 'GH_ERR_TARGET_INVALID'],
  ])('%s cannot be made unambiguous: refused with 400 %s', async (target, code) => {
    const r = await get(target);
    expect(r.body).not.toContain('ADMIN');
    expect(r.status).toBe(400);
    expect(r.body).toContain(code);
  });

  it('a dot segment cannot climb out of the upstream base path', async () => {
    const inside = await get('/api/x');
    expect(inside.body).toBe('BASE /base/x\n');
    // Judged where it really goes: no connection serves /secret.
    for (const target of ['/api/../secret', '/api/%2e%2e/secret', '/api/x/../../secret']) {
      const r = await get(target);
      expect(r.body).not.toContain('SECRET');
      expect(r.status).toBe(404);
      expect(r.body).toContain('GH_ERR_NO_ROUTE');
    }
    // Out of the prefix and back in: the upstream would leave /base/ (nginx serves /api/x, /secret).
    for (const target of ['/api/%2e%2e/api/x', '/api/../api/../secret/../api/x']) {
      const r = await get(target);
      expect(r.body).not.toContain('PUBLIC');
      expect(r.status).toBe(400);
      expect(r.body).toContain('GH_ERR_TARGET_ESCAPES_PREFIX');
    }
  });

  it('absolute-form is reduced to origin-form only for the routed host, and judged as such', async () => {
    const same = await rawRequest(port, 'GET http://api.test/admin HTTP/1.1', { host: 'api.test', authorization: `Bearer ${token}` });
    expect(same.body).not.toContain('ADMIN');
    expect(same.status).toBe(403);
    const fine = await rawRequest(port, 'GET http://api.test/hello HTTP/1.1', { host: 'api.test', authorization: `Bearer ${token}` });
    expect(fine.body).toBe('PUBLIC /hello\n');
    const other = await rawRequest(port, 'GET http://other.test/admin HTTP/1.1', { host: 'api.test', authorization: `Bearer ${token}` });
    expect(other.body).not.toContain('ADMIN');
    expect(other.status).toBe(400);
    expect(other.body).toContain('GH_ERR_TARGET_ABSOLUTE_FORM');
  });

  it('the upstream receives exactly the canonical path policy judged', async () => {
    const r = await get('/web/a/./b//c/%7euser/%41');
    expect(r.status).toBe(200);
    expect(r.body).toBe('PUBLIC /a/b/c/~user/A\n');
  });
});
