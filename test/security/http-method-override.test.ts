import { startTestGateway, type TestGateway } from '../support/gateway';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer';
import { startEcho, type Upstream } from '../support/upstreams';

/**
 * Issue 15, class 1 (method overrides): frameworks (Rails, Laravel, Symfony, Express's
 * method-override, ASP.NET, Google APIs) run a POST as the method an override names. Policy forbids
 * DELETE; an override must not carry a DELETE past it: refused by default, or judged as DELETE.
 */
const POLICY = `
@id("everyone")
permit (principal, action, resource);

@id("no-deletes")
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;

describe('security: HTTP method overrides', () => {
  let issuer: TestIssuer;
  let echo: Upstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    echo = await startEcho();
    gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], groupsClaim: 'groups', algorithms: ['RS256'] }] },
      policy: { cedar: POLICY },
      connections: [
        { name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } },
        { name: 'judged', kind: 'http', upstream: echo.url, route: { pathPrefix: '/judged' }, methodOverride: 'judge' },
      ],
    }));
    token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] });
  });
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
    await issuer?.close();
  });
  beforeEach(() => {
    echo.received.length = 0;
  });

  // Every row has all four cells: jest reads a test function with more parameters than the row as asking for `done`.
  const cases: [string, string, Record<string, string>, string][] = [
    ['X-HTTP-Method-Override', '/items/1', { 'x-http-method-override': 'DELETE' }, ''],
    ['X-HTTP-Method', '/items/1', { 'x-http-method': 'delete' }, ''],
    ['X-Method-Override', '/items/1', { 'x-method-override': 'DELETE' }, ''],
    ['x_http_method_override (the CGI spelling)', '/items/1', { x_http_method_override: 'DELETE' }, ''],
    ['a _method query parameter', '/items/1?_method=DELETE', {}, ''],
    ['an encoded _method query parameter', '/items/1?%5Fmethod=delete', {}, ''],
    ['a _method form field', '/items/1', { 'content-type': 'application/x-www-form-urlencoded' }, 'name=x&_method=DELETE'],
    ['a _method multipart field', '/items/1', { 'content-type': 'multipart/form-data; boundary=B' }, '--B\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--B--\r\n'],
  ];

  it.each(cases)('a POST overridden to DELETE by %s is refused by default', async (_name, path, headers, body) => {
    const res = await fetch(`${gw.url}/api${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('GH_ERR_METHOD_OVERRIDE');
    expect(echo.received).toHaveLength(0);
  });

  it.each(cases)('a POST overridden to DELETE by %s is judged as DELETE where the connection says so', async (_name, path, headers, body) => {
    const res = await fetch(`${gw.url}/judged${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('GH_ERR_POLICY_DENIED');
    expect(echo.received).toHaveLength(0);
  });

  it('a plain POST still goes through', async () => {
    const res = await fetch(`${gw.url}/api/items`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x&method=DELETE' });
    expect(res.status).toBe(200);
    await res.text();
    expect(echo.received).toHaveLength(1);
  });
});
