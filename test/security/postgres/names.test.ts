import pg from 'pg';
import { startPgTestEnv, UPSTREAM_PASSWORD, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 2 (names): functions and relations are judged by their resolved identity. Each
 * test attacks through the gateway with a permit that should not allow the effect, against real
 * PostgreSQL 15 (dblink from postgresql-contrib), and checks the database itself afterwards.
 */
const POLICY = `
@id("readers")
permit (principal in Gatehouse::Group::"readers", action in Gatehouse::Action::"sql:read", resource);

@id("writers")
permit (principal in Gatehouse::Group::"writers", action in [Gatehouse::Action::"sql:read", Gatehouse::Action::"sql:write", Gatehouse::Action::"sql:other", Gatehouse::Action::"sql:transaction"], resource);

@id("admins")
permit (principal in Gatehouse::Group::"admins", action, resource);

@id("hr-is-off-limits")
@message("hr.salaries is off limits")
forbid (principal, action, resource) when { context has tables && context.tables.contains("hr.salaries") };
`;

describe('names are judged by what they resolve to', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY });
    await env.direct('create extension dblink');
    await env.direct('create schema hr');
    await env.direct('create table hr.salaries (id int primary key, amount int)');
    await env.direct("create table public.ledger (id int primary key, note text)");
    await env.direct(`grant all on schema hr to ${UPSTREAM_USER}`);
    await env.direct(`grant all on all tables in schema hr, public to ${UPSTREAM_USER}`);
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate hr.salaries, public.ledger');
    await env.direct('insert into hr.salaries values (1, 100000), (2, 200000)');
    await env.direct("insert into public.ledger values (1, 'a'), (2, 'b')");
  });

  async function client(groups: string[]): Promise<pg.Client> {
    const c = new pg.Client(env.clientConfig(await env.token(groups)));
    await c.connect();
    return c;
  }
  const salaries = async () => (await env.direct('select amount from hr.salaries order by id')).rows.map((r) => r.amount as number);
  const ledger = async () => Number((await env.direct('select count(*) as n from public.ledger')).rows[0].n);

  test('a three-part name is the two-part name a policy forbids', async () => {
    const c = await client(['writers']);
    await expect(c.query('update appdb.hr.salaries set amount = 0 where id = 1')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/hr.salaries is off limits/) });
    await expect(c.query('update "appdb"."hr"."salaries" set amount = 0 where id = 1')).rejects.toMatchObject({ code: '42501' });
    // Another catalog is refused outright (PostgreSQL would refuse it too, but only after the policy judged the wrong name).
    await expect(c.query('select * from otherdb.hr.salaries')).rejects.toMatchObject({ message: expect.stringMatching(/names another database/) });
    await c.end();
    expect(await salaries()).toEqual([100000, 200000]);
  });

  test('an unqualified name resolves through the search_path the session set, also inside one multi-statement text', async () => {
    const c = await client(['writers']);
    await expect(c.query('set search_path = hr; update salaries set amount = 0 where id = 1')).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/off limits/) });
    await expect(c.query('update salaries set amount = 0 where id = 2')).rejects.toMatchObject({ code: '42501' });
    // A path set inside a rolled-back transaction is still followed (the gateway does not guess which one is in force).
    await c.query('begin');
    await c.query('set search_path = public');
    await c.query('rollback');
    await expect(c.query('update salaries set amount = 0 where id = 2')).rejects.toMatchObject({ code: '42501' });
    await c.end();
    expect(await salaries()).toEqual([100000, 200000]);
  });

  test('search_path changes the gateway cannot follow are refused', async () => {
    const c = await client(['admins']);
    await expect(c.query("select set_config('search_path', 'hr', false)")).rejects.toMatchObject({ message: expect.stringMatching(/set_config of search_path is refused/) });
    // Had it passed, this would have updated hr.salaries under the name "salaries".
    await expect(c.query('update salaries set amount = 0 where id = 1')).rejects.toBeDefined();
    await expect(c.query('alter database appdb set search_path = hr')).rejects.toMatchObject({ message: expect.stringMatching(/SET search_path is refused/) });
    await expect(c.query('alter role current_user set search_path = hr')).rejects.toMatchObject({ message: expect.stringMatching(/SET search_path is refused/) });
    await c.end();
    expect(await salaries()).toEqual([100000, 200000]);
    expect((await env.direct('select count(*)::int as n from pg_db_role_setting')).rows[0].n).toBe(0);
  });

  test("an extension's function under any spelling is not a read: dblink_exec cannot delete through sql:read", async () => {
    const c = await client(['readers']);
    const conn = `host=127.0.0.1 port=${env.pg.port} dbname=appdb user=${UPSTREAM_USER} password=${UPSTREAM_PASSWORD}`;
    for (const name of ['dblink_exec', 'public.dblink_exec', '"public"."dblink_exec"', 'appdb.public.dblink_exec', 'PUBLIC.DBLINK_EXEC']) {
      await expect(c.query(`select ${name}('${conn}', 'delete from public.ledger')`)).rejects.toMatchObject({ code: '42501' });
    }
    await c.end();
    expect(await ledger()).toBe(2);
  });

  test('catalog-qualified spellings of a dangerous built-in are the built-in: no other backend is terminated', async () => {
    const victim = new pg.Client({ host: '127.0.0.1', port: env.pg.port, user: UPSTREAM_USER, password: UPSTREAM_PASSWORD, database: 'appdb' });
    victim.on('error', () => undefined);
    await victim.connect();
    const pid = (await victim.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const c = await client(['readers', 'writers']);
    for (const name of ['appdb.pg_catalog.pg_terminate_backend', '"appdb"."pg_catalog"."pg_terminate_backend"', 'PG_CATALOG.PG_TERMINATE_BACKEND']) {
      await expect(c.query(`select ${name}(${pid})`)).rejects.toMatchObject({ code: '42501' });
    }
    await c.end();
    expect((await env.direct('select count(*)::int as n from pg_stat_activity where pid = $1', [pid])).rows[0].n).toBe(1);
    await victim.end();
  });

  test('functions that read a table named in a string are not reads: table_to_xml and friends cannot read hr.salaries', async () => {
    const c = await client(['readers']);
    for (const sql of ["select table_to_xml('hr.salaries', true, false, '')", "select pg_catalog.table_to_xml_and_xmlschema('hr.salaries', true, false, '')", "select schema_to_xml('hr', true, false, '')", "select * from ts_stat('select 1::text::tsvector from hr.salaries')"]) {
      await expect(c.query(sql)).rejects.toMatchObject({ code: '42501' });
    }
    await c.end();
    // Nothing of the table reached the record either.
    expect(JSON.stringify(await env.events())).not.toContain('200000');
  });
});
