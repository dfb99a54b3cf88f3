import { join } from 'node:path';
import { parseConfig } from '../../../gateway/src/config/load';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { startEcho, type Upstream } from '../../support/upstreams';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/** `policy.packs` from the configuration reaches the running gateway's policy engine. */
describe('guardrail packs selected in the configuration', () => {
  let echo: Upstream;
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    echo = await startEcho();
    gw = await startTestGateway((dir) => ({
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      // Everything is permitted by the user's own policy; the pack classifies on top of it.
      policy: { cedar: 'permit (principal in Gatehouse::Group::"developers", action, resource);', packs: [{ name: 'http-guardrails', disable: ['pack.http.admin-paths'] }] },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
    }));
    token = await mintDevToken({ subject: 'ada', groups: ['developers'], keyPath: join(gw.dir, 'dev-issuer.json'), audience: 'gatehouse', ttlSeconds: 600 });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
  });

  const send = async (method: string, path: string) => {
    const res = await fetch(`${gw.url}/api${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as { error?: { code?: string; decision?: string } } };
  };

  it('a DELETE needs review (no approvals configured here, so it is refused) while a GET passes', async () => {
    expect((await send('GET', '/items')).status).toBe(200);
    const del = await send('DELETE', '/items/1');
    expect(del.status).toBe(403);
    expect(del.body.error?.decision).toBe('approval.unavailable');
    expect(echo.received.map((r) => r.method)).toEqual(['GET']);
  });

  it('a disabled rule does not apply: a write to an admin path goes through', async () => {
    expect((await send('POST', '/admin/reindex')).status).toBe(200);
  });
});

describe('policy.packs in check-config', () => {
  it('reports an unknown pack and an unknown rule id with their path', () => {
    const result = parseConfig('policy:\n  packs: [no-such-pack, { name: sql-guardrails, disable: [pack.sql.nope] }]\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.problems.filter((p) => p.path === 'policy.packs').map((p) => p.message);
    expect(messages).toEqual([expect.stringContaining('unknown policy pack "no-such-pack"'), expect.stringContaining('has no rule "pack.sql.nope"')]);
  });
});
