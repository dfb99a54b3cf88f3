import pg from 'pg';
import type { CommandIO } from '../../../gateway/src/cli/io';
import { main } from '../../../gateway/src/main';
import { bootstrapState } from '../../../gateway/src/state/bootstrap';
import { createSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { createStateStore } from '../../../gateway/src/state/store';
import { startPostgres, type TestPostgres } from '../../support/postgres';

/** `gatehouse bootstrap-state` against a real PostgreSQL 15, then the gateway's store as the role it made. */
function capture(): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, out: () => out, err: () => err };
}

async function asAdmin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The app role's URL: same server and database, the role instead of the superuser (trust auth in the test cluster). */
function roleUrl(server: TestPostgres, role: string): string {
  return `postgres://${encodeURIComponent(role)}@127.0.0.1:${server.port}/${server.database}`;
}

describe('gatehouse bootstrap-state', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres({ database: 'gh_state' });
    // Another application's data in the same database: the gateway's role must not reach it.
    await asAdmin(server.url, async (c) => {
      await c.query('create schema billing');
      await c.query("create table billing.invoices (id int primary key, amount numeric); insert into billing.invoices values (1, 10)");
      await c.query('create table public.legacy (id int)');
    });
  });
  afterAll(() => server?.stop());

  test('--iam-auth none creates a LOGIN role and its schema; the gateway migrates and works as that role; a second run changes nothing', async () => {
    const first = capture();
    const code = await main(['bootstrap-state', '--admin-url', server.url, '--iam-auth', 'none', '--app-role', 'gatehouse_app'], first.io);
    expect(first.err()).toBe('');
    expect(code).toBe(0);
    expect(first.out()).toContain('changed: created role gatehouse_app (LOGIN, no password)');
    expect(first.out()).toContain('changed: created schema gatehouse');
    expect(first.out()).toContain('role gatehouse_app: login yes, superuser no, createrole no, createdb no, replication no, bypassrls no');
    expect(first.out()).toContain('schema public: create no');

    const attrs = await asAdmin(server.url, (c) => c.query("select rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolpassword is null as nopw from pg_authid where rolname = 'gatehouse_app'"));
    expect(attrs.rows[0]).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, nopw: true });

    // The gateway's own store, as the role, with state.schema: migrations run and the index works.
    const index = createSessionIndex({ url: roleUrl(server, 'gatehouse_app'), embeddedPath: 'memory', schema: 'gatehouse' });
    try {
      await index.init();
      await index.sessionStarted({ id: 's-1', protocol: 'http', connection: 'c', subject: 'u', userName: null, issuer: null, groups: [], clientAddress: null, startedAt: new Date('2026-01-01T00:00:00Z'), status: 'open' });
      expect((await index.get('s-1'))?.subject).toBe('u');
      const who = await index.store.query<{ u: string; s: string }>('select current_user as u, current_schema() as s');
      expect(who.rows[0]).toEqual({ u: 'gatehouse_app', s: 'gatehouse' });
    } finally {
      await index.close();
    }
    const tables = await asAdmin(server.url, (c) => c.query<{ t: string; o: string }>("select schemaname || '.' || tablename as t, tableowner as o from pg_tables where tablename like 'gatehouse_%' order by 1"));
    expect(tables.rows.length).toBeGreaterThan(0);
    for (const row of tables.rows) expect(row).toEqual({ t: expect.stringMatching(/^gatehouse\./), o: 'gatehouse_app' });

    const second = capture();
    expect(await main(['bootstrap-state', '--admin-url', server.url, '--iam-auth', 'none', '--app-role', 'gatehouse_app'], second.io)).toBe(0);
    expect(second.out()).toContain('nothing to change: already bootstrapped');
    expect(second.out()).not.toContain('changed:');
  });

  test('the role cannot create in public, cannot read another schema, cannot create roles, databases or schemas', async () => {
    const store = createStateStore({ url: roleUrl(server, 'gatehouse_app'), embeddedPath: 'memory', schema: 'gatehouse' });
    try {
      const refused = async (sql: string) => {
        const e = await store.query(sql).then(() => undefined, (err: unknown) => err);
        expect(e).toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE', details: { driverCode: '42501' } }); // insufficient_privilege
      };
      await refused('create table public.intruder (id int)');
      await refused('select * from billing.invoices');
      await refused('select * from public.legacy');
      await refused('create role other_role');
      await refused('create database other_db');
      await refused('create schema other_schema');
      const r = await store.query<{ su: string }>("select current_setting('is_superuser') as su");
      expect(r.rows[0]!.su).toBe('off');
    } finally {
      await store.close();
    }
  });

  test('an existing role with excess attributes and a direct CREATE on public is brought down to least privilege', async () => {
    await asAdmin(server.url, async (c) => {
      await c.query('create role gh_wide login createdb createrole');
      await c.query('grant create on schema public to gh_wide');
    });
    const report = await asAdmin(server.url, (c) => bootstrapState(c, { appRole: 'gh_wide', iamAuth: 'none', schema: 'gh_wide_state' }));
    expect(report.actions).toEqual(expect.arrayContaining(['removed CREATEDB, CREATEROLE from gh_wide', 'revoked CREATE on schema public']));
    expect(report.privileges).toMatchObject({ createDb: false, createRole: false, publicCreate: false, schemaUsage: true, schemaCreate: true, connect: true });
    expect(report.problems).toEqual([]);
  });

  /** A password in the administrator URL (trust auth ignores it) keeps the job from fetching a platform token. */
  const adminWithPassword = () => server.url.replace('postgres@', 'postgres:unused@');

  test('azure-entra creates the role with pgaadauth_create_principal_with_oid (a stand-in of Azure\'s function records the call)', async () => {
    // Azure's extension is not available here: this stand-in has its signature and creates the role.
    await asAdmin(server.url, async (c) => {
      await c.query('create table aad_calls (name text, oid text, type text, is_admin bool, is_mfa bool)');
      await c.query(`create function pgaadauth_create_principal_with_oid(name text, oid text, type text, is_admin bool, is_mfa bool) returns text language plpgsql as $$
        begin insert into aad_calls values (name, oid, type, is_admin, is_mfa); execute format('create role %I login', name); return 'Created role for ' || name; end $$`);
    });
    const oid = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
    const missingOid = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'azure-entra', '--app-role', 'gatehouse-identity'], missingOid.io)).toBe(1);
    expect(missingOid.err()).toContain('give --app-role-oid');
    const ok = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'azure-entra', '--app-role', 'gatehouse-identity', '--app-role-oid', oid], ok.io)).toBe(0);
    expect(ok.out()).toContain(`changed: created Entra principal gatehouse-identity (object id ${oid})`);
    const calls = await asAdmin(server.url, (c) => c.query('select * from aad_calls'));
    expect(calls.rows).toEqual([{ name: 'gatehouse-identity', oid, type: 'service', is_admin: false, is_mfa: false }]);
  });

  test('azure-entra: where the function lives only in the postgres database (as on Azure), the principal is created there', async () => {
    const postgresDb = server.url.replace(/\/gh_state$/, '/postgres');
    await asAdmin(postgresDb, (c) =>
      c.query(`create function pgaadauth_create_principal_with_oid(name text, oid text, type text, is_admin bool, is_mfa bool) returns text language plpgsql as $$
        begin execute format('create role %I login', name); return 'Created role for ' || name; end $$`),
    );
    await asAdmin(server.url, (c) => c.query('drop function pgaadauth_create_principal_with_oid(text, text, text, bool, bool)'));
    const ok = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'azure-entra', '--app-role', 'gatehouse-identity-2', '--app-role-oid', '1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'], ok.io)).toBe(0);
    expect(ok.out()).toContain('changed: created Entra principal gatehouse-identity-2 (object id 1b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0) in database postgres');
    expect(ok.out()).toContain('schema gatehouse: usage yes, create yes');
  });

  test('gcp-cloudsql needs the IAM user to exist (Cloud SQL creates it), then grants to it like any role', async () => {
    const missing = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'gcp-cloudsql', '--app-role', 'gh-sa@proj.iam'], missing.io)).toBe(1);
    expect(missing.err()).toContain('create the Cloud SQL IAM user first');
    await asAdmin(server.url, (c) => c.query('create role "gh-sa@proj.iam" login'));
    const ok = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'gcp-cloudsql', '--app-role', 'gh-sa@proj.iam', '--schema', 'gh_gcp'], ok.io)).toBe(0);
    expect(ok.out()).toContain('schema gh_gcp: usage yes, create yes');
    expect(ok.out()).toContain('state.iamAuth: gcp-cloudsql');
  });

  test('aws-rds: refused where rds_iam does not exist (not RDS); on RDS the role is created without a password and granted rds_iam, which is no warning; a second run changes nothing', async () => {
    const notRds = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'aws-rds', '--app-role', 'gh_rds'], notRds.io)).toBe(1);
    expect(notRds.err()).toContain('role rds_iam does not exist');
    await asAdmin(server.url, (c) => c.query('create role rds_iam nologin')); // as RDS and Aurora have it
    const first = await asAdmin(server.url, (c) => bootstrapState(c, { appRole: 'gh_rds', iamAuth: 'aws-rds', schema: 'gh_rds_state' }));
    expect(first.actions).toEqual(expect.arrayContaining(['created role gh_rds (LOGIN, no password)', 'granted rds_iam to gh_rds (RDS IAM authentication)']));
    expect(first.privileges.memberOf).toEqual(['rds_iam']);
    expect(first.warnings).toEqual([]);
    expect(first.problems).toEqual([]);
    const again = capture();
    expect(await main(['bootstrap-state', '--admin-url', adminWithPassword(), '--iam-auth', 'aws-rds', '--app-role', 'gh_rds', '--schema', 'gh_rds_state'], again.io)).toBe(0);
    expect(again.out()).toContain('nothing to change: already bootstrapped');
    expect(again.out()).toContain('state.iamAuth: aws-rds');
    // The same membership for a password role is worth a warning (it would hold rds_iam's meaning for nothing).
    const other = await asAdmin(server.url, (c) => bootstrapState(c, { appRole: 'gh_rds', iamAuth: 'none', schema: 'gh_rds_state' }));
    expect(other.warnings).toEqual([expect.stringContaining('member of rds_iam')]);
  });

  test('an administrator that may not change the role\'s settings (no ADMIN OPTION, as on PostgreSQL 16 for a role Cloud SQL created) still bootstraps, with a warning naming state.schema', async () => {
    await asAdmin(server.url, async (c) => {
      // A non-superuser administrator without CREATEROLE: ALTER ROLE ... SET is refused (42501) on
      // PostgreSQL 15 too, the same refusal PostgreSQL 16 gives without ADMIN OPTION.
      await c.query('create role gh_limited_admin login');
      await c.query(`grant create, connect on database ${server.database} to gh_limited_admin with grant option`);
      await c.query('create role gh_iam_app login');
    });
    const limited = `postgres://gh_limited_admin@127.0.0.1:${server.port}/${server.database}`;
    const report = await asAdmin(limited, (c) => bootstrapState(c, { appRole: 'gh_iam_app', iamAuth: 'gcp-cloudsql', schema: 'gh_limited' }));
    expect(report.problems).toEqual([]);
    expect(report.privileges).toMatchObject({ connect: true, schemaUsage: true, schemaCreate: true });
    expect(report.warnings.join('\n')).toContain('configure the gateway with state.schema: gh_limited');
    expect(report.actions.some((a) => a.includes('search_path'))).toBe(false);
    // The rest of the run was kept (savepoint, not a rolled-back transaction).
    const index = createSessionIndex({ url: roleUrl(server, 'gh_iam_app'), embeddedPath: 'memory', schema: 'gh_limited' });
    try {
      await index.init();
      const who = await index.store.query<{ u: string; s: string }>('select current_user as u, current_schema() as s');
      expect(who.rows[0]).toEqual({ u: 'gh_iam_app', s: 'gh_limited' });
    } finally {
      await index.close();
    }
  });

  test('usage errors exit 2; the administrator URL can come from the environment', async () => {
    const bad = capture();
    expect(await main(['bootstrap-state', '--admin-url', server.url, '--iam-auth', 'kerberos', '--app-role', 'x'], bad.io)).toBe(2);
    expect(bad.err()).toContain('--iam-auth must be azure-entra, gcp-cloudsql, aws-rds or none');
    const reserved = capture();
    expect(await main(['bootstrap-state', '--admin-url', server.url, '--iam-auth', 'none', '--app-role', 'postgres'], reserved.io)).toBe(2);
    process.env.GH_TEST_ADMIN_URL = server.url;
    try {
      const viaEnv = capture();
      expect(await main(['bootstrap-state', '--admin-url', 'env:GH_TEST_ADMIN_URL', '--iam-auth', 'none', '--app-role', 'gatehouse_app'], viaEnv.io)).toBe(0);
      expect(viaEnv.out()).toContain('nothing to change');
    } finally {
      delete process.env.GH_TEST_ADMIN_URL;
    }
  });
});
