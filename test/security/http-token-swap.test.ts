import http from 'node:http';
import { readAllSegments } from '../support/log-segments';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer';
import { startEcho, type Upstream } from '../support/upstreams';

/**
 * Issue 15, class 2 (stale principal): a session keyed by `x-gatehouse-session` /
 * `x-claude-code-session-id`, or one keep-alive socket, must never lend the first token's groups to
 * a later request that carries another token of the same subject (a revoked group).
 */
const POLICY = `
@id("everyone-reads")
permit (principal, action in Gatehouse::Action::"http:read", resource);

@id("admins-delete")
permit (principal in Gatehouse::Group::"admins", action == Gatehouse::Action::"http:DELETE", resource);
`;

function send(url: string, method: string, headers: Record<string, string>, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('security: every HTTP request is judged under its own token', () => {
  let issuer: TestIssuer;
  let echo: Upstream;
  let gw: TestGateway;
  let admin: string;
  let revoked: string;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    echo = await startEcho();
    gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], groupsClaim: 'groups', algorithms: ['RS256'] }] },
      policy: { cedar: POLICY },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
    }));
    // Same subject; the second token was issued after the admins group was revoked.
    admin = await issuer.mintToken({ sub: 'ada', groups: ['admins'], jti: 'before-revocation' });
    revoked = await issuer.mintToken({ sub: 'ada', groups: [], jti: 'after-revocation' });
  });
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
    await issuer?.close();
  });
  beforeEach(() => {
    echo.received.length = 0;
  });

  it.each(['x-gatehouse-session', 'x-claude-code-session-id'])('on one %s session', async (sessionHeader) => {
    const first = await send(`${gw.url}/api/items/1`, 'DELETE', { authorization: `Bearer ${admin}`, [sessionHeader]: `swap-${sessionHeader}` });
    expect(first.status).toBe(200);
    const second = await send(`${gw.url}/api/items/2`, 'DELETE', { authorization: `Bearer ${revoked}`, [sessionHeader]: `swap-${sessionHeader}` });
    expect(second.status).toBe(403);
    expect(second.body).toContain('GH_ERR_POLICY_DENIED');
    expect(echo.received.map((r) => r.url)).toEqual(['/items/1']);
  });

  it('on one keep-alive socket', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (s) => sockets.add(s));
    try {
      const first = await send(`${gw.url}/api/items/3`, 'DELETE', { authorization: `Bearer ${admin}` }, agent);
      expect(first.status).toBe(200);
      const second = await send(`${gw.url}/api/items/4`, 'DELETE', { authorization: `Bearer ${revoked}` }, agent);
      expect(second.status).toBe(403);
      expect(sockets.size).toBe(1); // really one connection
      expect(echo.received.map((r) => r.url)).toEqual(['/items/3']);
    } finally {
      agent.destroy();
    }
  });

  it('the record attributes each denial to the principal actually checked', async () => {
    await gw.stop({ keep: true });
    const events = (await readAllSegments(gw.logDir)).split('\n').filter((l) => l.includes('"policy.denied"')).map((l) => JSON.parse(l) as { payload: { principal?: { groups: string[]; tokenId: string } } });
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const e of events) expect(e.payload.principal).toMatchObject({ groups: [] });
  });
});

