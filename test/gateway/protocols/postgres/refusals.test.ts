import pg from 'pg';
import { DEFAULT_POLICY, errorFields, rawLogin, RawPgClient, startPgTestEnv, typed, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * A refusal leaves the server where PostgreSQL's own error would have left it: earlier statements of
 * a refused transaction never commit, in the simple protocol and in an extended-protocol pipeline
 * without intermediate Sync (real PostgreSQL 15 behind the gateway; DEFAULT_POLICY forbids DELETE).
 */
describe('postgres refusals keep the transaction semantics of a server-side error', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: DEFAULT_POLICY });
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    await c.query('create table ledger (id int primary key, note text)');
    await c.end();
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await direct('truncate ledger');
  });

  const direct = (sql: string): Promise<pg.QueryResult> => env.direct(sql);
  const ledgerIds = async () => (await direct('select id from ledger order by id')).rows.map((r) => r.id as number);

  test('simple protocol: BEGIN; INSERT; denied DELETE; COMMIT answers ROLLBACK and nothing is committed', async () => {
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    await c.query('begin');
    await c.query("insert into ledger values (1, 'before the refusal')");
    await expect(c.query('delete from ledger where id = 1')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/DELETE is not allowed through the gateway \(rule no-deletes\)/) });
    // As after any error inside a block, PostgreSQL refuses further statements until it ends.
    await expect(c.query('select 1')).rejects.toMatchObject({ code: '25P02' });
    const commit = await c.query('commit');
    expect(commit.command).toBe('ROLLBACK');
    expect(await ledgerIds()).toEqual([]);
    // The session keeps working.
    await c.query("insert into ledger values (2, 'after')");
    expect((await c.query('select count(*)::int as n from ledger')).rows[0].n).toBe(1);
    await c.end();
    expect(await ledgerIds()).toEqual([2]);
  });

  test('simple protocol, one multi-statement Query: the statements before the refused one run and roll back with it', async () => {
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    await expect(c.query("insert into ledger values (3, 'implicit'); delete from ledger; insert into ledger values (4, 'never')")).rejects.toMatchObject({ code: '42501' });
    expect(await ledgerIds()).toEqual([]);
    // Outside a block the implicit transaction ended with the error: the session is idle and usable.
    expect((await c.query('select 5 as five')).rows).toEqual([{ five: 5 }]);
    await c.end();
    const events = await env.events();
    const inserted = events.find((e) => e.type === 'pg.query' && String((e.payload as Record<string, unknown>).text).includes("(3, 'implicit')"));
    // The first INSERT really ran (and was rolled back by the server): its result is recorded.
    expect(inserted).toBeDefined();
    expect(events.find((e) => e.type === 'pg.result' && e.requestId === inserted!.requestId)?.payload).toMatchObject({ tag: 'INSERT 0 1' });
    expect(JSON.stringify(events.filter((e) => e.type === 'pg.query'))).not.toContain("(4, 'never')");
  });

  async function rawSession(): Promise<RawPgClient> {
    const { c, login } = await rawLogin(env);
    expect(login.at(-1)?.type).toBe('Z');
    return c;
  }

  const cstr = (s: string) => Buffer.from(`${s}\0`);
  const parse = (sql: string) => typed('P', Buffer.concat([cstr(''), cstr(sql), Buffer.from([0, 0])]));
  const bind = () => typed('B', Buffer.concat([cstr(''), cstr(''), Buffer.from([0, 0, 0, 0, 0, 0])]));
  const execute = () => typed('E', Buffer.concat([cstr(''), Buffer.from([0, 0, 0, 0])]));
  const sync = () => typed('S', Buffer.alloc(0));
  const query = (sql: string) => typed('Q', cstr(sql));
  const statement = (sql: string) => [parse(sql), bind(), execute()];

  test('extended protocol pipeline without Sync between statements: the INSERT before the refused DELETE is rolled back at Sync', async () => {
    const c = await rawSession();
    c.write(Buffer.concat([...statement("insert into ledger values (10, 'pipelined')"), ...statement('delete from ledger where id = 10'), ...statement("insert into ledger values (11, 'skipped')"), sync()]));
    const answer = await c.untilReady();
    expect(answer.map((m) => m.type)).toEqual(['1', '2', 'C', 'E', 'Z']);
    const error = errorFields(answer[3]!.body);
    expect(error.C).toBe('42501');
    expect(error.M).toMatch(/rule no-deletes/);
    // Idle, not in a transaction: the implicit transaction was rolled back by the server.
    expect(answer[4]!.body.toString()).toBe('I');
    expect(await ledgerIds()).toEqual([]);
    // The session keeps working, in both protocols.
    c.write(Buffer.concat([...statement("insert into ledger values (12, 'after')"), sync()]));
    expect((await c.untilReady()).map((m) => m.type)).toEqual(['1', '2', 'C', 'Z']);
    c.write(query('select count(*) from ledger'));
    const count = await c.untilReady();
    expect(count.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    c.socket.end();
    expect(await ledgerIds()).toEqual([12]);
  });

  test('extended protocol inside BEGIN: the block is failed (E) and COMMIT answers ROLLBACK', async () => {
    const c = await rawSession();
    c.write(query('begin'));
    expect((await c.untilReady()).at(-1)!.body.toString()).toBe('T');
    c.write(Buffer.concat([...statement("insert into ledger values (20, 'in block')"), ...statement('delete from ledger'), sync()]));
    const answer = await c.untilReady();
    expect(answer.map((m) => m.type)).toEqual(['1', '2', 'C', 'E', 'Z']);
    expect(errorFields(answer[3]!.body).C).toBe('42501');
    expect(answer[4]!.body.toString()).toBe('E');
    c.write(query('commit'));
    const commit = await c.untilReady();
    expect(commit[0]!.type).toBe('C');
    expect(commit[0]!.body.toString('utf8', 0, commit[0]!.body.length - 1)).toBe('ROLLBACK');
    expect(commit.at(-1)!.body.toString()).toBe('I');
    expect(await ledgerIds()).toEqual([]);
    c.socket.end();
  });

  test('node-postgres pipelined queries with a refusal in the middle: the others answer, nothing leaks into a transaction', async () => {
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    const results = await Promise.allSettled([
      c.query('insert into ledger values ($1, $2)', [30, 'a']),
      c.query('delete from ledger where id = $1', [30]),
      c.query('insert into ledger values ($1, $2)', [31, 'b']),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await ledgerIds()).toEqual([30, 31]);
    await c.end();
  });
});
