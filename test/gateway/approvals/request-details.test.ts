import { join } from 'node:path';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { readAllSegments } from '../../support/log-segments';
import { startTestGateway, type TestGateway } from '../../support/gateway';
import { startEcho, type Upstream } from '../../support/upstreams';

/**
 * Issue 15, point 5: an approver sees the method, the canonical path and query, the caller's
 * non-credential headers and the body (masked as configured) before deciding, and the body is in
 * the record whatever the outcome.
 */
const POLICY = `
@id("writes-need-approval")
@decision("review")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:POST", resource);
`;

type Json = Record<string, any>;

describe('approvals: what the approver sees of an HTTP request', () => {
  let gw: TestGateway;
  let echo: Upstream;
  let token: (sub: string, groups: string[]) => Promise<string>;

  beforeAll(async () => {
    echo = await startEcho();
    gw = await startTestGateway((dir) => ({
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      policy: { cedar: POLICY },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' }, masking: { families: ['secret', 'pii'] } }],
      approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 1 },
    }));
    const keyPath = join(gw.dir, 'dev-issuer.json');
    token = (sub, groups) => mintDevToken({ subject: sub, groups, keyPath, audience: 'gatehouse', ttlSeconds: 600 });
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
  });

  it('shows method, canonical path and query, non-credential headers and the masked body; records them whatever the outcome', async () => {
    const ada = await token('ada', ['developers']);
    const grace = await token('grace', ['approvers']);
    const body = JSON.stringify({ action: 'transfer', contact: 'ada.lovelace@example.com' });
    const response = fetch(`${gw.url}/api/./payments//run?dry=0&token=abc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ada}`, cookie: 'sid=caller', 'content-type': 'application/json', 'x-purpose': 'quarterly close' },
      body,
    });
    let approval: Json | undefined;
    for (let i = 0; i < 200 && approval === undefined; i++) {
      const res = await fetch(`${gw.adminUrl}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${grace}` } });
      approval = ((await res.json()) as Json).approvals?.[0];
      if (approval === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(approval).toBeDefined();
    const details = approval!.details as Json;
    expect(details.method).toBe('POST');
    expect(details.path).toBe('/api/payments/run');
    expect(details.query).toBe('?dry=0&token=[REDACTED]');
    expect(details.headers['x-purpose']).toBe('quarterly close');
    expect(details.headers['content-type']).toBe('application/json');
    expect(details.headers.authorization).toBeUndefined();
    expect(details.headers.cookie).toBeUndefined();
    expect(details.body.text).toContain('transfer');
    expect(details.body.text).not.toContain('ada.lovelace@example.com'); // masked as configured
    expect(approval!.summary).toBe('POST /payments/run?dry=0&token=[REDACTED]');
    expect(approval!.attributes.query).toEqual({ dry: '0', token: '[REDACTED]' });
    expect(approval!.details.attributes).toBeUndefined();

    // Nobody decides: it expires; the body is in the record anyway.
    const res = await response;
    expect(res.status).toBe(403);
    await res.text();
    expect(echo.received).toHaveLength(0);
    await gw.stop({ keep: true });
    const requested = (await readAllSegments(gw.logDir)).split('\n').find((l) => l.includes('"approval.requested"'));
    const event = JSON.parse(requested!) as Json;
    expect(event.payload.request.body.text).toContain('transfer');
    expect(requested).not.toContain('ada.lovelace@example.com');
    expect(requested).not.toContain('sid=caller');
  });
});
