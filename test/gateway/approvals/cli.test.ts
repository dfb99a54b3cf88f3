import { join } from 'node:path';
import { main } from '../../../gateway/src/main';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { startEcho, type Upstream } from '../../support/upstreams';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/** `gatehouse approvals list|show|approve|deny` against a running in-process gateway's admin API. */
const POLICY = `
@id("deletes-need-approval")
@decision("review")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:DELETE", resource);
`;

describe('gatehouse approvals', () => {
  let echo: Upstream;
  let gw: TestGateway;
  const token = (subject: string, groups: string[]) => mintDevToken({ subject, groups, keyPath: join(gw.dir, 'dev-issuer.json'), audience: 'gatehouse', ttlSeconds: 600 });

  beforeAll(async () => {
    echo = await startEcho();
    gw = await startTestGateway((dir) => ({
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      policy: { cedar: POLICY },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
      approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 60 },
    }));
  }, 60_000);
  afterAll(async () => {
    await gw.stop();
    await echo.close();
  });

  const run = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['approvals', ...args, '--admin-url', gw.adminUrl], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  const held = async (path: string) => {
    const ada = await token('ada', ['developers']);
    const grace = await token('grace', ['approvers']);
    const response = fetch(`${gw.url}/api${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${ada}` } });
    for (let i = 0; i < 200; i++) {
      const r = await run(['list', '--json', '--token', grace]);
      const found = (JSON.parse(r.out) as { id: string; summary: string }[]).find((a) => a.summary === `DELETE ${path}`);
      if (found) return { response, id: found.id, grace, ada };
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error('no pending approval appeared');
  };

  test('list shows the pending request; approve releases it with the reason recorded', async () => {
    const { response, id, grace } = await held('/a');
    const table = await run(['list', '--token', grace]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/ID\s+CREATED\s+STATUS/);
    expect(table.out).toContain(id);
    expect(table.out).toContain('DELETE /a');

    const approved = await run(['approve', id, '--reason', 'looks fine', '--token', grace]);
    expect(approved).toMatchObject({ code: 0, out: `approval ${id}: granted` });
    expect((await response).status).toBe(200);

    const shown = await run(['show', id, '--token', grace]);
    expect(shown.out).toContain('status: granted');
    expect(shown.out).toContain('approve by grace <grace> at');
    expect(shown.out).toContain('looks fine');
  });

  test('deny refuses the operation; errors come back with their stable code and exit 1', async () => {
    const { response, id, grace, ada } = await held('/b');
    const notApprover = await run(['approve', id, '--token', ada]);
    expect(notApprover.code).toBe(1);
    expect(notApprover.err).toContain('neither an admin nor an approver group [GH_ERR_FORBIDDEN]');
    expect((await run(['deny', id, '--reason', 'no', '--token', grace])).code).toBe(0);
    expect((await response).status).toBe(403);
    const again = await run(['approve', id, '--token', grace]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('[GH_ERR_APPROVAL_CLOSED]');
    const denied = await run(['list', '--status', 'denied', '--json', '--token', grace]);
    expect(JSON.parse(denied.out)).toEqual([expect.objectContaining({ id, status: 'denied', reason: 'no' })]);
  });

  test('usage errors exit 2', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['approve', '--token', 'x'])).code).toBe(2);
  });
});
