import pg from 'pg';
import { errorFields, LOG_EVERYTHING, rawLogin, serverLog, startPgTestEnv, typed, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 6: a refusal never tells the server what was refused or why. The server's own log
 * (log_statement = all: every statement it received) must hold neither the refused statement nor
 * the policy's message, and refusing must work on a database without PL/pgSQL, while the
 * transaction semantics of a server-side error are kept. Against real PostgreSQL 15.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
@message("deletes are off limits: reason-marker-5d1c")
forbid (principal, action == Gatehouse::Action::"sql:delete", resource);
`;

describe('postgres refusals stay in the gateway', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY, postgresSettings: LOG_EVERYTHING });
    await env.direct('create table ledger (id int primary key, note text)');
    await env.direct('alter table ledger owner to gh_app');
    // Nothing in the refusal path may need PL/pgSQL (or any extension).
    await env.direct('drop extension plpgsql');
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct("insert into ledger values (1, 'keep')");
  });

  const ids = async (): Promise<number[]> => (await env.direct('select id from ledger order by id')).rows.map((r) => r.id as number);

  test('simple protocol inside a block: 42501 from the gateway, block failed, nothing of the refusal in the server log', async () => {
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    await c.query('begin');
    await c.query("insert into ledger values (2, 'in block')");
    await expect(c.query("delete from ledger where note = 'statement-marker-a81f'")).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('reason-marker-5d1c') });
    await expect(c.query('select 1')).rejects.toMatchObject({ code: '25P02' });
    expect((await c.query('commit')).command).toBe('ROLLBACK');
    // A multi-statement Query: the allowed statement runs, the refused one is replaced.
    await expect(c.query("insert into ledger values (3, 'implicit'); delete from ledger where note = 'statement-marker-b92e'")).rejects.toMatchObject({ code: '42501' });
    expect((await c.query('select 7 as seven')).rows).toEqual([{ seven: 7 }]);
    await c.end();

    expect(await ids()).toEqual([1]);
    const log = serverLog(env.pg);
    expect(log).toContain("insert into ledger values (2, 'in block')"); // the log really holds what the server received
    expect(log).not.toContain('statement-marker');
    expect(log).not.toContain('reason-marker');
  });

  test('extended protocol and the function-call protocol: refused without the text or the reason reaching the server', async () => {
    const { c, login } = await rawLogin(env);
    expect(login.at(-1)?.type).toBe('Z');
    const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
    const parse = typed('P', Buffer.concat([cstr('named-marker'), cstr("delete from ledger where note = 'statement-marker-c3d4'"), Buffer.from([0, 0])]));
    c.write(Buffer.concat([parse, typed('S', Buffer.alloc(0))]));
    const answer = await c.untilReady();
    expect(answer.map((m) => m.type)).toEqual(['E', 'Z']);
    expect(errorFields(answer[0]!.body)).toMatchObject({ C: '42501' });
    expect(errorFields(answer[0]!.body).M).toContain('reason-marker-5d1c');
    // FunctionCall (fast path): oid of int4abs, one text argument.
    const call = Buffer.alloc(4 + 2 + 2 + 2 + 4 + 2 + 2);
    let o = call.writeUInt32BE(1397, 0);
    o = call.writeInt16BE(1, o);
    o = call.writeInt16BE(0, o);
    o = call.writeInt16BE(1, o);
    o = call.writeInt32BE(2, o);
    call.write('-5', o);
    call.writeInt16BE(0, o + 2);
    c.write(typed('F', call));
    const refused = await c.untilReady();
    expect(refused.map((m) => m.type)).toEqual(['E', 'Z']);
    expect(errorFields(refused[0]!.body).C).toBe('42501');
    c.socket.end();

    expect(await ids()).toEqual([1]);
    const log = serverLog(env.pg);
    expect(log).not.toContain('statement-marker');
    expect(log).not.toContain('reason-marker');
    expect(log).not.toContain('fast-path function call');
  });
});
