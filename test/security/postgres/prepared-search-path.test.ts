import pg from 'pg';
import { startPgTestEnv, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 2 (names), across time: PostgreSQL plans a prepared statement again when the
 * search_path changed, so `SELECT * FROM secrets` prepared while `secrets` meant app.secrets reads
 * hr.secrets once the path is `hr`. A prepared statement (named Parse, SQL-level PREPARE) judged
 * before the session's scope widened is judged again when it is run. Real PostgreSQL 15: the
 * forbidden rows must never reach the client.
 */
const POLICY = `
@id("everyone")
permit (principal, action, resource);

@id("hr-is-off-limits")
@message("hr.secrets is off limits")
forbid (principal, action, resource) when { context has tables && context.tables.contains("hr.secrets") };
`;

const HR_SECRET = 'hr-payroll-secret';

describe('prepared statements across a SET search_path', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY });
    for (const schema of ['app', 'hr']) {
      await env.direct(`create schema ${schema}`);
      await env.direct(`create table ${schema}.secrets (id int primary key, note text)`);
      await env.direct(`grant all on schema ${schema} to ${UPSTREAM_USER}`);
      await env.direct(`grant all on all tables in schema ${schema} to ${UPSTREAM_USER}`);
    }
    await env.direct("insert into app.secrets values (1, 'app-note')");
    await env.direct(`insert into hr.secrets values (1, '${HR_SECRET}')`);
  }, 120000);
  afterAll(async () => {
    await env?.stop();
  });

  async function client(): Promise<pg.Client> {
    const c = new pg.Client(env.clientConfig(await env.token(['developers'])));
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  test('a named Parse judged under search_path app is judged again at Bind after SET search_path = hr', async () => {
    const c = await client();
    await c.query('SET search_path = app');
    const query = { name: 'sec', text: 'SELECT note FROM secrets' };
    expect((await c.query(query)).rows).toEqual([{ note: 'app-note' }]);
    await c.query('SET search_path = hr');
    // The same named statement: only Bind/Execute reach the gateway now.
    const outcome = await c.query(query).then(
      (r) => r.rows,
      (e: { code?: string; message: string }) => e,
    );
    expect(outcome).toMatchObject({ code: '42501', message: expect.stringContaining('hr.secrets is off limits') });
    expect(JSON.stringify(outcome)).not.toContain(HR_SECRET);
    // The connection goes on; a statement that names the allowed table explicitly still runs.
    expect((await c.query({ name: 'qualified', text: 'SELECT note FROM app.secrets' })).rows).toEqual([{ note: 'app-note' }]);
    expect((await c.query({ name: 'qualified', text: 'SELECT note FROM app.secrets' })).rows).toEqual([{ note: 'app-note' }]);
    await c.end();
    const events = await env.events();
    expect(JSON.stringify(events)).not.toContain(HR_SECRET);
  });

  test('a SQL-level PREPARE judged under search_path app is judged again at EXECUTE after SET search_path = hr', async () => {
    const c = await client();
    await c.query('SET search_path = app; PREPARE s AS SELECT note FROM secrets');
    expect((await c.query('EXECUTE s')).rows).toEqual([{ note: 'app-note' }]);
    await c.query('SET search_path = hr');
    for (const text of ['EXECUTE s', 'execute S', 'EXPLAIN ANALYZE EXECUTE s']) {
      const outcome = await c.query(text).then(
        (r) => r.rows,
        (e: { code?: string; message: string }) => e,
      );
      expect({ text, outcome }).toMatchObject({ text, outcome: { code: '42501' } });
      expect(JSON.stringify(outcome)).not.toContain(HR_SECRET);
    }
    // Run any other way, a stale prepared statement is refused.
    await expect(c.query('CREATE TEMP TABLE copied AS EXECUTE s')).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('PREPARE it again') });
    // The same EXECUTE through the extended protocol (a Parse of "EXECUTE s").
    await expect(c.query({ text: 'EXECUTE s', values: [] , name: 'ex' })).rejects.toMatchObject({ code: '42501' });
    // Prepared again now, it is judged in the current scope: still refused (it could read hr.secrets).
    await expect(c.query('PREPARE s2 AS SELECT note FROM secrets')).rejects.toMatchObject({ code: '42501' });
    await c.end();
    expect(JSON.stringify(await env.events())).not.toContain(HR_SECRET);
  });

  test('without a search_path change, EXECUTE runs what PREPARE was judged as', async () => {
    const c = await client();
    await c.query('PREPARE q AS SELECT note FROM app.secrets');
    expect((await c.query('EXECUTE q')).rows).toEqual([{ note: 'app-note' }]);
    await c.query('SET search_path = app');
    // Judged again in the wider scope: app.secrets is still allowed.
    expect((await c.query('EXECUTE q')).rows).toEqual([{ note: 'app-note' }]);
    await c.end();
  });
});
