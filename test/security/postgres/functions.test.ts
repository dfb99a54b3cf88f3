import pg from 'pg';
import { runPgBinary, startPgTestEnv, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 3 (a deny-list cannot describe "read-only"): with a `sql:read` permit only,
 * functions with side effects (sequences, large objects, notifications, advisory locks,
 * user-defined functions) are refused, because only allow-listed built-ins are reads. Each test
 * checks the database itself, through a superuser connection beside the gateway.
 */
const POLICY = `
@id("readers")
permit (principal in Gatehouse::Group::"readers", action in Gatehouse::Action::"sql:read", resource);

@id("callers")
permit (principal in Gatehouse::Group::"callers", action in Gatehouse::Action::"sql:call", resource)
when { ["public.harmless"].containsAll(context.functions) };
`;

describe('sql:read permits only side-effect-free functions', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY });
    await env.direct('create sequence public.counter');
    await env.direct('create table public.audit (at timestamptz default now())');
    await env.direct("create function public.bump() returns int language sql as 'insert into public.audit default values returning 1'");
    await env.direct("create function public.harmless() returns int language sql as 'select 1'");
    await env.direct(`grant all on all tables in schema public to ${UPSTREAM_USER}`);
    await env.direct(`grant all on all sequences in schema public to ${UPSTREAM_USER}`);
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  async function reader(groups = ['readers']): Promise<pg.Client> {
    const c = new pg.Client(env.clientConfig(await env.token(groups)));
    await c.connect();
    return c;
  }
  const one = async (sql: string) => (await env.direct(sql)).rows[0] as Record<string, unknown>;

  test('sequences: nextval and setval do not move the sequence', async () => {
    const c = await reader();
    for (const sql of ["select nextval('public.counter')", "select pg_catalog.nextval('counter')", "select setval('counter', 1000)", "select * from (select nextval('counter')) s"]) {
      await expect(c.query(sql)).rejects.toMatchObject({ code: '42501' });
    }
    await c.end();
    expect(await one('select last_value, is_called from public.counter')).toEqual({ last_value: '1', is_called: false });
  });

  test('large objects, notifications and advisory locks are refused', async () => {
    const listener = new pg.Client({ connectionString: env.directUrl });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(String(n.payload)));
    await listener.query('listen chan');
    const c = await reader();
    for (const sql of ['select lo_create(0)', "select lo_from_bytea(0, 'x')", "select pg_notify('chan', 'leak')", 'select pg_advisory_lock(42)', 'select pg_try_advisory_lock(43)', 'select txid_current()']) {
      await expect(c.query(sql)).rejects.toMatchObject({ code: '42501' });
    }
    expect(await one("select count(*)::int as n from pg_locks where locktype = 'advisory'")).toEqual({ n: 0 });
    await c.end();
    await listener.query('select 1'); // a round trip after which a notification would have arrived
    await listener.end();
    expect(heard).toEqual([]);
    expect(await one('select count(*)::int as n from pg_largeobject_metadata')).toEqual({ n: 0 });
  });

  test('a user-defined function is its own action (sql:call), not a read, whatever it does', async () => {
    const c = await reader();
    await expect(c.query('select public.bump()')).rejects.toMatchObject({ code: '42501' });
    await expect(c.query('select bump()')).rejects.toMatchObject({ code: '42501' });
    await expect(c.query('select 1 where bump() = 1')).rejects.toMatchObject({ code: '42501' });
    await c.end();
    expect(await one('select count(*)::int as n from public.audit')).toEqual({ n: 0 });
    // A policy can allow sql:call by function name.
    const caller = await reader(['readers', 'callers']);
    expect((await caller.query('select public.harmless() as h')).rows).toEqual([{ h: 1 }]);
    await expect(caller.query('select public.bump()')).rejects.toMatchObject({ code: '42501' });
    await caller.end();
    expect(await one('select count(*)::int as n from public.audit')).toEqual({ n: 0 });
  });

  test("psql's catalog commands are reads: the allow-list covers what they call", async () => {
    const env2 = { PGHOST: '127.0.0.1', PGPORT: String(env.port), PGUSER: 'ada', PGDATABASE: 'appdb', PGPASSWORD: await env.token(['readers']), PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' };
    const r = await runPgBinary('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-f', '-'], env2, '\\d\n\\dt+\n\\d public.audit\n\\df public.*\n\\dn\n\\du\n\\l\n\\ds\n');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toContain('counter');
  });

  test('allow-listed built-ins stay reads', async () => {
    const c = await reader();
    const r = await c.query("select lower('A') as l, now() is not null as n, coalesce(null, 2) as c, length(md5('x')) as m, jsonb_build_object('a', 1) as j");
    expect(r.rows).toEqual([{ l: 'a', n: true, c: 2, m: 32, j: { a: 1 } }]);
    await c.end();
  });
});
