import pg from 'pg';
import { INLINE_CODE_LIMIT, STATE_ROLE_BOOTSTRAP_HANDLER, STATE_ROLE_BOOTSTRAP_SETTINGS_SQL, STATE_ROLE_BOOTSTRAP_SQL } from '../../../constructs/aws/state-role-bootstrap';
import { bootstrapState } from '../../../gateway/src/state/bootstrap';
import { createSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { startPostgres, type TestPostgres } from '../../support/postgres';

/**
 * The exact SQL the AWS kit's deploy-time bootstrap sends through the RDS Data API, run against a
 * real PostgreSQL 15 as the administrator, in one transaction as the Data API runs it. Then the
 * gateway's own `bootstrapState` (the definition of least privilege shared by the three clouds)
 * must find nothing left to change and no problem.
 */
async function runBootstrap(server: TestPostgres, role: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query('begin');
    // The Data API binds :role, :schema by name; pg binds $1, $2 by position.
    await admin.query(STATE_ROLE_BOOTSTRAP_SETTINGS_SQL.replace(':role', '$1').replace(':schema', '$2'), [role, 'gatehouse']);
    await admin.query(STATE_ROLE_BOOTSTRAP_SQL);
    await admin.query('commit');
  } finally {
    await admin.end();
  }
}

async function loginAs(server: TestPostgres, user: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, database: server.database, user });
  await c.connect();
  return c;
}

async function asAdmin<T>(server: TestPostgres, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

describe('StateRoleBootstrap SQL (real PostgreSQL)', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    // `trust` for the app role stands in for RDS's IAM token check (which a plain PostgreSQL
    // cannot do; test/gateway/state/iam-auth.test.ts covers the token login itself).
    server = await startPostgres({ database: 'gatehouse', hba: ['host all gatehouse_app 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256'] });
    // RDS and Aurora PostgreSQL create this role themselves.
    await asAdmin(server, (c) => c.query('create role rds_iam nologin'));
  });
  afterAll(() => server?.stop());

  test('makes a role with no password, member of rds_iam, with exactly the gateway bootstrap\'s privileges; the gateway\'s store works as it; a re-run changes nothing', async () => {
    await runBootstrap(server, 'gatehouse_app');

    const check = async () => asAdmin(server, async (admin) => {
      const report = await bootstrapState(admin, { appRole: 'gatehouse_app', iamAuth: 'aws-rds' });
      expect(report.actions).toEqual([]);
      expect(report.problems).toEqual([]);
      expect(report.warnings).toEqual([]);
      expect(report.privileges).toMatchObject({ login: true, superuser: false, createRole: false, createDb: false, schemaCreate: true, publicCreate: false, memberOf: ['rds_iam'] });
      const pw = await admin.query("select rolpassword is null as none from pg_authid where rolname = 'gatehouse_app'");
      expect(pw.rows[0].none).toBe(true);
    });
    await check();

    // The gateway's own store, as the role: migrations create its tables in its schema.
    const url = `postgres://gatehouse_app@127.0.0.1:${server.port}/gatehouse`;
    const index = createSessionIndex({ url, embeddedPath: 'memory', schema: 'gatehouse' });
    try {
      await index.init();
    } finally {
      await index.close();
    }
    const app = await loginAs(server, 'gatehouse_app');
    try {
      const tables = await app.query("select count(*)::int as n from pg_tables where schemaname = 'gatehouse'");
      expect(tables.rows[0].n).toBeGreaterThan(0);
      await expect(app.query('create table public.intruder (id int)')).rejects.toThrow(/permission denied/);
      await expect(app.query('create role other')).rejects.toThrow(/permission denied/);
      await expect(app.query('select * from pg_authid')).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }

    // A stack update over a role an earlier (password) version of the kit made: the password goes.
    await asAdmin(server, (c) => c.query("alter role gatehouse_app password 'rotated-by-the-old-kit'"));
    await runBootstrap(server, 'gatehouse_app');
    await check();
  });

  test('without rds_iam (not an RDS database) the bootstrap fails and changes nothing', async () => {
    await asAdmin(server, (c) => c.query('alter role rds_iam rename to rds_iam_aside'));
    try {
      await expect(runBootstrap(server, 'gatehouse_other')).rejects.toThrow(/role "rds_iam" does not exist/);
      const left = await asAdmin(server, (c) => c.query("select count(*)::int as n from pg_roles where rolname = 'gatehouse_other'"));
      expect(left.rows[0].n).toBe(0);
    } finally {
      await asAdmin(server, (c) => c.query('alter role rds_iam_aside rename to rds_iam'));
    }
  });

  test.each(['postgres', 'rds_superuser', 'pg_read_all_data', ''])('refuses to touch role "%s"', async (role) => {
    await expect(runBootstrap(server, role)).rejects.toThrow(/refusing to bootstrap role/);
  });
});

describe('StateRoleBootstrap handler', () => {
  test('fits CloudFormation\'s inline code limit and is valid JavaScript', () => {
    expect(STATE_ROLE_BOOTSTRAP_HANDLER.length).toBeLessThanOrEqual(INLINE_CODE_LIMIT);
    // Parses as a CommonJS module body (syntax only; nothing runs).
    expect(() => new Function('require', 'exports', STATE_ROLE_BOOTSTRAP_HANDLER)).not.toThrow();
    // It reads no secret itself: the Data API logs in with the administrator's.
    expect(STATE_ROLE_BOOTSTRAP_HANDLER).not.toMatch(/secrets-manager|GetSecretValue|name: 'password'/i);
    expect(STATE_ROLE_BOOTSTRAP_HANDLER).toContain('PASSWORD NULL');
  });
});
