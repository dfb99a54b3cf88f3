import pg from 'pg';
import { startPgTestEnv, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * Approvals for PostgreSQL end to end against a real PostgreSQL 15: a statement policy marks
 * `review` waits before it is sent upstream until an approver decides through the admin API;
 * `unparsedStatements: review` asks for an approval even where policy allows.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("deletes-need-approval")
@decision("review")
@message("deletes need an approval")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"sql:delete", resource);
`;

type Json = Record<string, any>;

describe('postgres statements waiting for approval', () => {
  let env: PgTestEnv;
  let ada: string;
  let grace: string;
  let direct: pg.Client;

  beforeAll(async () => {
    env = await startPgTestEnv({
      policy: POLICY,
      connection: { unparsedStatements: 'review' },
      config: { approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 60 } },
    });
    [ada, grace] = await Promise.all([env.token(), env.token(['approvers'], 'grace')]);
    direct = new pg.Client({ connectionString: env.directUrl });
    await direct.connect();
    await direct.query('create table orders (id int primary key, note text)');
    await direct.query('grant all on orders to gh_app');
    await direct.query("insert into orders select g, 'order ' || g from generate_series(1, 5) g");
  }, 60000);
  afterAll(async () => {
    await direct?.end();
    await env?.stop();
  });

  const admin = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${env.gw.adminUrl}${path}`, { ...init, headers: { authorization: `Bearer ${grace}`, 'content-type': 'application/json' } });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const pendingFor = async (action: string, marker: string): Promise<Json> => {
    for (let i = 0; i < 400; i++) {
      const { body } = await admin('/api/approvals?status=pending');
      const found = (body.approvals as Json[]).find((a) => a.action === action && String(a.summary).includes(marker));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the approval never appeared');
  };
  const exists = async (id: number): Promise<boolean> => (await direct.query('select 1 from orders where id = $1', [id])).rowCount === 1;

  test('a DELETE waits before it reaches PostgreSQL; an approval through the admin API releases it and the row is deleted', async () => {
    const client = new pg.Client(env.clientConfig(ada, { application_name: 'approve-delete' }));
    await client.connect();
    const pending = client.query('delete from orders where id = 1');
    let settled = false;
    void pending.then(() => (settled = true), () => (settled = true));
    const approval = await pendingFor('sql:delete', 'id = 1');
    expect(approval).toMatchObject({ status: 'pending', protocol: 'postgres', connection: 'appdb', requester: { subject: 'ada' }, reasons: ['deletes-need-approval'] });
    // Held: not sent upstream, the client still waits.
    expect(await exists(1)).toBe(true);
    expect(settled).toBe(false);

    const { status, body } = await admin(`/api/approvals/${approval.id}/approve`, { method: 'POST', body: JSON.stringify({ reason: 'ticket OPS-1' }) });
    expect(status).toBe(200);
    expect(body.approval.status).toBe('granted');
    const r = await pending;
    expect(r.rowCount).toBe(1);
    expect(await exists(1)).toBe(false);
    // The session goes on as usual.
    expect((await client.query('select count(*)::int as n from orders')).rows[0].n).toBe(4);
    await client.end();

    const events = await env.events();
    const requested = events.find((e) => e.type === 'approval.requested' && (e.payload as Json).approvalId === approval.id)!;
    expect(requested).toBeDefined();
    const granted = events.find((e) => e.type === 'approval.granted' && (e.payload as Json).approvalId === approval.id)!;
    expect(granted).toMatchObject({ requestId: requested.requestId });
    const query = events.find((e) => e.type === 'pg.query' && e.requestId === requested.requestId)!;
    expect((query.payload as Json).decision).toMatchObject({ effect: 'allow', code: 'approval.granted' });
  });

  test('a denial answers 42501 naming the approval; the row stays and the session stays usable', async () => {
    const client = new pg.Client(env.clientConfig(ada, { application_name: 'deny-delete' }));
    await client.connect();
    const pending = client.query('delete from orders where id = 2').catch((e: unknown) => e as Json);
    const approval = await pendingFor('sql:delete', 'id = 2');
    const { status } = await admin(`/api/approvals/${approval.id}/deny`, { method: 'POST', body: JSON.stringify({ reason: 'not now' }) });
    expect(status).toBe(200);
    const err = (await pending) as Json;
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('42501');
    expect(err.message).toContain(approval.id);
    expect(err.message).toMatch(/was denied by grace@example.com: not now/);
    expect(await exists(2)).toBe(true);
    expect((await client.query('select count(*)::int as n from orders')).rows[0].n).toBe(4);
    await client.end();

    const events = await env.events();
    const denied = events.find((e) => e.type === 'approval.denied' && (e.payload as Json).approvalId === approval.id)!;
    expect(denied).toBeDefined();
    expect(events.find((e) => e.type === 'policy.denied' && e.requestId === denied.requestId)?.payload).toMatchObject({ code: 'approval.denied' });
  });

  test('a client that disconnects while its DELETE waits cancels the approval (recorded); nothing reaches PostgreSQL', async () => {
    const client = new pg.Client(env.clientConfig(ada, { application_name: 'gone-delete' }));
    client.on('error', () => undefined);
    await client.connect();
    const pending = client.query('delete from orders where id = 3').catch((e: unknown) => e);
    const approval = await pendingFor('sql:delete', 'id = 3');
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await pending;
    let status = 'pending';
    for (let i = 0; i < 200 && status === 'pending'; i++) {
      status = (await admin(`/api/approvals/${approval.id}`)).body.approval.status;
      if (status === 'pending') await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe('cancelled');
    expect((await admin(`/api/approvals/${approval.id}/approve`, { method: 'POST', body: '{}' })).status).toBe(409);
    expect(await exists(3)).toBe(true);
    const events = await env.events();
    expect(events.some((e) => e.type === 'approval.cancelled' && (e.payload as Json).approvalId === approval.id)).toBe(true);
  });

  test('unparsedStatements: review asks for an approval although policy allows; once approved the text reaches the server', async () => {
    const client = new pg.Client(env.clientConfig(ada, { application_name: 'unparsed-review' }));
    await client.connect();
    const pending = client.query('selec 42 as unparsed_marker').catch((e: unknown) => e as Json);
    const approval = await pendingFor('sql:unparsed', 'unparsed_marker');
    expect(approval.reasons).toEqual(['developers']);
    await admin(`/api/approvals/${approval.id}/approve`, { method: 'POST', body: '{}' });
    const err = (await pending) as Json;
    // PostgreSQL's own syntax error: the statement was released to the server.
    expect(err.code).toBe('42601');

    const refused = client.query('selec 43 as unparsed_marker2').catch((e: unknown) => e as Json);
    const second = await pendingFor('sql:unparsed', 'unparsed_marker2');
    await admin(`/api/approvals/${second.id}/deny`, { method: 'POST', body: '{}' });
    expect(((await refused) as Json).code).toBe('42501');
    await client.end();
  });
});
