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
async function runBootstrap(server: TestPostgres, role: string, password: string): Promise<void> {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query('begin');
    // The Data API binds :role, :password, :schema by name; pg binds $1..$3 by position.
    await admin.query(STATE_ROLE_BOOTSTRAP_SETTINGS_SQL.replace(':role', '$1').replace(':password', '$2').replace(':schema', '$3'), [role, password, 'gatehouse']);
    await admin.query(STATE_ROLE_BOOTSTRAP_SQL);
    await admin.query('commit');
  } finally {
    await admin.end();
  }
}

async function loginAs(server: TestPostgres, user: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, database: server.database, user, password });
  await c.connect();
  return c;
}

describe('StateRoleBootstrap SQL (real PostgreSQL)', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres({ database: 'gatehouse', hba: ['host all gatehouse_app 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256'] });
  });
  afterAll(() => server?.stop());

  test('makes a password role with exactly the gateway bootstrap\'s privileges; the gateway\'s store works as it; a re-run sets the new password only', async () => {
    const first = "it's-a 'quoted' pässword";
    await runBootstrap(server, 'gatehouse_app', first);

    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      const report = await bootstrapState(admin, { appRole: 'gatehouse_app', iamAuth: 'none' });
      expect(report.actions).toEqual([]);
      expect(report.problems).toEqual([]);
      expect(report.privileges).toMatchObject({ login: true, superuser: false, createRole: false, createDb: false, schemaCreate: true, publicCreate: false, memberOf: [] });
    } finally {
      await admin.end();
    }

    // The gateway's own store, as the role: migrations create its tables in its schema.
    const url = `postgres://gatehouse_app:${encodeURIComponent(first)}@127.0.0.1:${server.port}/gatehouse`;
    const index = createSessionIndex({ url, embeddedPath: 'memory', schema: 'gatehouse' });
    try {
      await index.init();
    } finally {
      await index.close();
    }
    const app = await loginAs(server, 'gatehouse_app', first);
    try {
      const tables = await app.query("select count(*)::int as n from pg_tables where schemaname = 'gatehouse'");
      expect(tables.rows[0].n).toBeGreaterThan(0);
      await expect(app.query('create table public.intruder (id int)')).rejects.toThrow(/permission denied/);
      await expect(app.query('create role other')).rejects.toThrow(/permission denied/);
      await expect(app.query('select * from pg_authid')).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }

    // A stack update after a rotation: the role takes the secret's current password, the old one stops working.
    await runBootstrap(server, 'gatehouse_app', 'second-password');
    await expect(loginAs(server, 'gatehouse_app', first)).rejects.toThrow(/password authentication failed/);
    const again = await loginAs(server, 'gatehouse_app', 'second-password');
    await again.end();
  });

  test.each(['postgres', 'rds_superuser', 'pg_read_all_data', ''])('refuses to touch role "%s"', async (role) => {
    await expect(runBootstrap(server, role, 'x')).rejects.toThrow(/refusing to bootstrap role/);
  });
});

describe('StateRoleBootstrap handler', () => {
  test('fits CloudFormation\'s inline code limit and is valid JavaScript', () => {
    expect(STATE_ROLE_BOOTSTRAP_HANDLER.length).toBeLessThanOrEqual(INLINE_CODE_LIMIT);
    // Parses as a CommonJS module body (syntax only; nothing runs).
    expect(() => new Function('require', 'exports', STATE_ROLE_BOOTSTRAP_HANDLER)).not.toThrow();
    expect(STATE_ROLE_BOOTSTRAP_HANDLER).not.toMatch(/console\.(log|error)\([^)]*password/);
  });
});
