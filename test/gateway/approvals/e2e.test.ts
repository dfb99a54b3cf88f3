import { join } from 'node:path';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { startEcho, startUpstream, type Upstream } from '../../support/upstreams';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/**
 * Just-in-time approval end to end, in-process: the real dev issuer, Cedar policy with
 * `@decision("review")` on DELETE, the recorder, the embedded state store, the HTTP proxy holding
 * the request open, and the admin API where approvers decide. Webhook notifications go to a real
 * local HTTP server that captures the posts.
 */
const POLICY = `
@id("developers-read")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:GET", resource);

@id("deletes-need-approval")
@decision("review")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:DELETE", resource);
`;

interface Harness {
  gw: TestGateway;
  echo: Upstream;
  hooks: Upstream;
  token(sub: string, groups: string[]): Promise<string>;
  close(): Promise<void>;
}

async function start(approvals: Record<string, unknown>): Promise<Harness> {
  const echo = await startEcho();
  const hooks = await startUpstream((_req, res) => {
    res.writeHead(204).end();
  });
  const gw = await startTestGateway((dir) => ({
    identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
    policy: { cedar: POLICY },
    connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
    admin: { groups: ['auditors'] },
    approvals: {
      approverGroups: ['approvers'],
      pollIntervalMs: 100,
      consoleUrl: 'https://gatehouse.example.test/console',
      notifiers: [
        { kind: 'webhook', name: 'generic', url: `${hooks.url}/generic`, format: 'json', headers: { 'x-team': 'platform' } },
        { kind: 'webhook', name: 'slack', url: `${hooks.url}/slack`, format: 'slack' },
      ],
      ...approvals,
    },
  }));
  const keyPath = join(gw.dir, 'dev-issuer.json');
  return {
    gw,
    echo,
    hooks,
    token: (sub, groups) => mintDevToken({ subject: sub, groups, keyPath, audience: 'gatehouse', ttlSeconds: 600 }),
    close: async () => {
      await gw.stop();
      await echo.close();
      await hooks.close();
    },
  };
}

type Json = Record<string, any>;

describe('approvals end to end (one approver needed)', () => {
  let h: Harness;
  let ada: string;
  let grace: string;
  let linus: string;
  let auditor: string;
  let mallory: string;

  beforeAll(async () => {
    h = await start({ timeoutSeconds: 2 });
    [ada, grace, linus, auditor, mallory] = await Promise.all([
      h.token('ada', ['developers']),
      h.token('grace', ['approvers']),
      h.token('linus', ['approvers', 'developers']),
      h.token('audrey', ['auditors']),
      h.token('mallory', ['developers']),
    ]);
  }, 60_000);
  afterAll(async () => h.close());
  beforeEach(() => {
    h.echo.received.length = 0;
    h.hooks.received.length = 0;
  });

  const admin = async (path: string, token: string, init: RequestInit = {}) => {
    const res = await fetch(`${h.gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const decide = (id: string, verdict: 'approve' | 'deny', token: string, reason?: string) =>
    admin(`/api/approvals/${id}/${verdict}`, token, { method: 'POST', body: reason === undefined ? '' : JSON.stringify({ reason }) });

  /** Sends the DELETE (held open by the gateway) and resolves its pending approval once listed. */
  const heldDelete = async (path: string, token = ada) => {
    const response = fetch(`${h.gw.url}/api${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 200; i++) {
      const { body } = await admin('/api/approvals?status=pending', grace);
      const found = (body.approvals as Json[]).find((a) => a.summary === `DELETE ${path}`);
      if (found) return { response, approval: found };
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the approval never appeared');
  };

  test('a DELETE is held open until an approver approves it through the admin API, then reaches the upstream; the record holds who and why', async () => {
    const { response, approval } = await heldDelete('/users/1');
    expect(approval).toMatchObject({ status: 'pending', requester: { subject: 'ada' }, connection: 'api', action: 'http:DELETE', reasons: ['deletes-need-approval'] });
    expect(h.echo.received).toHaveLength(0);

    const { status, body } = await decide(approval.id, 'approve', grace, 'ticket OPS-7');
    expect(status).toBe(200);
    expect(body.approval).toMatchObject({ status: 'granted', votes: [expect.objectContaining({ subject: 'grace', verdict: 'approve', reason: 'ticket OPS-7' })] });
    const res = await response;
    expect(res.status).toBe(200);
    await res.text();
    expect(h.echo.received.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /users/1']);

    const exported = await admin(`/api/sessions/${approval.sessionId}/export`, auditor);
    expect(exported.status).toBe(200);
    const events = exported.body.events as Json[];
    const types = events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['approval.requested', 'approval.granted', 'http.request', 'http.response']));
    // Requested, then granted, then (only then) the request went upstream.
    expect(types.indexOf('approval.requested')).toBeLessThan(types.indexOf('approval.granted'));
    expect(types.indexOf('approval.granted')).toBeLessThan(types.indexOf('http.request'));
    const granted = events.find((e) => e.type === 'approval.granted')!;
    expect(granted.payload).toMatchObject({ approvalId: approval.id, by: ['grace'], reason: 'ticket OPS-7' });
    expect(typeof granted.payload.decidedAt).toBe('string');
    expect(events.find((e) => e.type === 'http.request')!.payload.decision).toMatchObject({ effect: 'allow', code: 'approval.granted' });
  });

  test('a denial answers 403 with the approval code and the upstream never sees the request', async () => {
    const { response, approval } = await heldDelete('/users/2');
    const { status } = await decide(approval.id, 'deny', grace, 'not on a Friday');
    expect(status).toBe(200);
    const res = await response;
    expect(res.status).toBe(403);
    const body = (await res.json()) as Json;
    expect(body.error).toMatchObject({ code: 'GH_ERR_APPROVAL_DENIED', decision: 'approval.denied' });
    expect(body.error.message).toContain('not on a Friday');
    expect(h.echo.received).toHaveLength(0);
  });

  test('no decision before the timeout: 403 approval.expired, and a late approval is refused with 409', async () => {
    const { response, approval } = await heldDelete('/users/3');
    const res = await response;
    expect(res.status).toBe(403);
    expect(((await res.json()) as Json).error).toMatchObject({ code: 'GH_ERR_APPROVAL_EXPIRED', decision: 'approval.expired' });
    const late = await decide(approval.id, 'approve', grace, 'sorry, late');
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'GH_ERR_APPROVAL_CLOSED' });
    expect(h.echo.received).toHaveLength(0);
  });

  test('a client that disconnects while held cancels its approval (recorded); a later approval is refused and nothing is forwarded', async () => {
    const aborter = new AbortController();
    const path = '/users/6';
    const response = fetch(`${h.gw.url}/api${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${ada}` }, signal: aborter.signal }).catch((e: Error) => e);
    let approval: Json | undefined;
    for (let i = 0; i < 200 && approval === undefined; i++) {
      approval = ((await admin('/api/approvals?status=pending', grace)).body.approvals as Json[]).find((a) => a.summary === `DELETE ${path}`);
      if (approval === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    expect(approval).toBeDefined();
    aborter.abort();
    expect(String(await response)).toMatch(/abort/i);
    let status = 'pending';
    for (let i = 0; i < 200 && status === 'pending'; i++) {
      status = ((await admin(`/api/approvals/${approval!.id}`, grace)).body.approval as Json).status;
      if (status === 'pending') await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe('cancelled');
    expect((await decide(approval!.id, 'approve', grace, 'too late')).status).toBe(409);
    const events = (await admin(`/api/sessions/${approval!.sessionId}/export`, auditor)).body.events as Json[];
    expect(events.map((e) => e.type)).toContain('approval.cancelled');
    expect(h.echo.received).toHaveLength(0);
  });

  test('only approvers decide, nobody decides their own request, and the second of two racing decisions gets 409', async () => {
    const { response, approval } = await heldDelete('/users/4', linus);
    // Not an approver (and not an admin): cannot even list.
    expect((await admin('/api/approvals', mallory)).body.error).toMatchObject({ code: 'GH_ERR_FORBIDDEN' });
    // An admin may read but is not an approver.
    expect((await admin(`/api/approvals/${approval.id}`, auditor)).status).toBe(200);
    const byAdmin = await decide(approval.id, 'approve', auditor);
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.error.code).toBe('GH_ERR_APPROVAL_NOT_APPROVER');
    // linus is an approver, but it is his own request.
    const self = await decide(approval.id, 'approve', linus, 'trust me');
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('GH_ERR_APPROVAL_SELF');

    const [a, b] = await Promise.all([decide(approval.id, 'approve', grace, 'first'), decide(approval.id, 'approve', grace, 'second')]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect([a, b].find((r) => r.status === 409)!.body.error.code).toMatch(/^GH_ERR_APPROVAL_(CLOSED|VOTED)$/);
    expect((await response).status).toBe(200);
  });

  test('bad input to the approvals API is refused with its parameter', async () => {
    expect((await admin('/api/approvals?status=maybe', grace)).body.error).toMatchObject({ code: 'GH_ERR_REQUEST_INVALID', parameter: 'status' });
    expect((await admin('/api/approvals/ap_nope', grace)).status).toBe(404);
    const bad = await admin('/api/approvals/ap_nope/approve', grace, { method: 'POST', body: '{not json' });
    expect(bad.body.error.code).toBe('GH_ERR_REQUEST_INVALID');
    expect((await admin('/api/approvals/ap_nope/approve', grace)).status).toBe(405);
  });

  test('each request is posted to the webhooks: generic JSON and Slack, both linking to the console', async () => {
    const { response, approval } = await heldDelete('/users/5');
    for (let i = 0; i < 100 && h.hooks.received.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    await decide(approval.id, 'deny', grace, 'cleanup');
    await (await response).text();
    const link = `https://gatehouse.example.test/console/approvals/${approval.id}`;
    const generic = h.hooks.received.find((r) => r.url === '/generic')!;
    expect(generic.headers['x-team']).toBe('platform');
    expect(JSON.parse(generic.body.toString())).toMatchObject({
      type: 'gatehouse.approval.requested',
      id: approval.id,
      requester: { subject: 'ada', groups: ['developers'] },
      connection: 'api',
      operation: { summary: 'DELETE /users/5', action: 'http:DELETE' },
      action: 'http:DELETE',
      expiresAt: approval.expiresAt,
      link,
    });
    const slack = JSON.parse(h.hooks.received.find((r) => r.url === '/slack')!.body.toString()) as Json;
    expect(slack.text).toContain('DELETE /users/5');
    expect(JSON.stringify(slack.blocks)).toContain(`<${link}|`);
  });
});

describe('approvals end to end (two approvers needed)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ timeoutSeconds: 60, minApprovals: 2 });
  }, 60_000);
  afterAll(async () => h.close());

  test('the request goes through only after two distinct approvers approved', async () => {
    const [ada, grace, linus] = await Promise.all([h.token('ada', ['developers']), h.token('grace', ['approvers']), h.token('linus', ['approvers'])]);
    const response = fetch(`${h.gw.url}/api/things/9`, { method: 'DELETE', headers: { authorization: `Bearer ${ada}` } });
    const admin = async (path: string, token: string, init: RequestInit = {}) => {
      const res = await fetch(`${h.gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as Json };
    };
    let id: string | undefined;
    for (let i = 0; i < 200 && id === undefined; i++) {
      id = ((await admin('/api/approvals?status=pending', grace)).body.approvals as Json[])[0]?.id;
      if (id === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    const first = await admin(`/api/approvals/${id}/approve`, grace, { method: 'POST', body: '{"reason":"one"}' });
    expect(first.body.approval).toMatchObject({ status: 'pending', approvals: 1 });
    const again = await admin(`/api/approvals/${id}/approve`, grace, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('GH_ERR_APPROVAL_VOTED');
    expect(h.echo.received).toHaveLength(0);
    const second = await admin(`/api/approvals/${id}/approve`, linus, { method: 'POST', body: '{"reason":"two"}' });
    expect(second.body.approval).toMatchObject({ status: 'granted', approvals: 2 });
    expect((await response).status).toBe(200);
    expect(h.echo.received).toHaveLength(1);
  });
});
