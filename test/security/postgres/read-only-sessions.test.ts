import pg from 'pg';
import { startPgTestEnv, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 3 (read-only sessions at statement level): a session opened read-only
 * (`upstream.readOnly`, `upstream.roles[].readOnly`) stays read-only. The server does not report
 * `transaction_read_only` in ParameterStatus, and reports `default_transaction_read_only` only
 * after the whole Query ran, so the gateway refuses every statement that may make a transaction or
 * the session read-write. The upstream role here owns the table (its GRANTs allow the DELETE) and
 * the policy permits everything: only read-only mode stands between the reader and the rows.
 * Real PostgreSQL 15; the table is checked directly.
 */
const POLICY = `
@id("everyone")
permit (principal, action, resource);
`;

/** Each text tries to turn read-only off and delete in the same Query. */
const READ_WRITE_TEXTS = [
  'BEGIN READ WRITE; DELETE FROM ledger; COMMIT',
  'begin isolation level serializable, read write; delete from ledger; commit',
  'BEGIN ISOLATION LEVEL REPEATABLE READ READ WRITE; DELETE FROM ledger; COMMIT',
  'START TRANSACTION READ WRITE; DELETE FROM ledger; COMMIT',
  'BEGIN; SET TRANSACTION READ WRITE; DELETE FROM ledger; COMMIT',
  'BEGIN; SET transaction_read_only = off; DELETE FROM ledger; COMMIT',
  'BEGIN; SET transaction_read_only TO false; DELETE FROM ledger; COMMIT',
  'BEGIN; SET LOCAL transaction_read_only = 0; DELETE FROM ledger; COMMIT',
  "BEGIN; SET transaction_read_only = 'no'; DELETE FROM ledger; COMMIT",
  'BEGIN; SET transaction_read_only = of; DELETE FROM ledger; COMMIT',
  'BEGIN; SET "transaction_read_only" = F; DELETE FROM ledger; COMMIT',
  "BEGIN; SELECT set_config('transaction_read_only', 'off', true); DELETE FROM ledger; COMMIT",
  "BEGIN; SELECT pg_catalog.set_config('Transaction_Read_Only', 'false', true); DELETE FROM ledger; COMMIT",
  "BEGIN; SELECT set_config('transaction_' || 'read_only', 'off', true); DELETE FROM ledger; COMMIT",
  // The session's default, then a new transaction in the same Query (ParameterStatus comes too late).
  'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; COMMIT; DELETE FROM ledger',
  'SET default_transaction_read_only = off; COMMIT; DELETE FROM ledger',
  "SELECT set_config('default_transaction_read_only', 'off', false); COMMIT; DELETE FROM ledger",
  'BEGIN; RESET transaction_read_only; DELETE FROM ledger; COMMIT',
  'RESET default_transaction_read_only',
  'SET transaction_read_only = DEFAULT',
  'RESET ALL',
];

describe('postgres read-only sessions stay read-only', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({
      policy: POLICY,
      extraConnections: (port) => [
        // Read-only through the group's role entry (same role, which can write: only readOnly protects).
        {
          name: 'approle',
          kind: 'postgres',
          upstream: {
            host: '127.0.0.1',
            port,
            database: 'appdb',
            user: 'nobody_unused',
            password: 'env:GH_PG_TEST_PASSWORD',
            tls: { mode: 'disable' },
            roles: [{ groups: ['readers'], user: UPSTREAM_USER, password: 'env:GH_PG_TEST_PASSWORD', readOnly: true }],
          },
        },
        // Read-only for the whole connection.
        { name: 'appro', kind: 'postgres', upstream: { host: '127.0.0.1', port, database: 'appdb', user: UPSTREAM_USER, password: 'env:GH_PG_TEST_PASSWORD', tls: { mode: 'disable' }, readOnly: true } },
      ],
    });
    await env.direct('create table ledger (id int primary key, note text)');
    await env.direct(`alter table ledger owner to ${UPSTREAM_USER}`);
  }, 120000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct("insert into ledger values (1, 'a'), (2, 'b')");
  });

  const count = async (): Promise<number> => Number((await env.direct('select count(*) as n from ledger')).rows[0].n);

  async function reader(database: string): Promise<pg.Client> {
    const c = new pg.Client(env.clientConfig(await env.token(['readers'], 'rita'), { database }));
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  test.each(['approle', 'appro'])('every spelling of read-write is refused in simple Query (%s) and no row changes', async (database) => {
    for (const text of READ_WRITE_TEXTS) {
      const c = await reader(database);
      const outcome = await c.query(text).then(
        () => undefined,
        (e: { code?: string; message: string }) => e,
      );
      await c.end().catch(() => undefined);
      expect({ text, code: outcome?.code, message: outcome?.message }).toEqual({ text, code: '42501', message: expect.stringMatching(/read-only|set_config with a parameter name/) });
      expect({ text, rows: await count() }).toEqual({ text, rows: 2 });
    }
    const events = await env.events();
    expect(events.filter((e) => e.type === 'policy.denied' && JSON.stringify(e.payload).includes('postgres.read_only')).length).toBeGreaterThan(0);
  }, 120000);

  test('in the extended protocol too: a prepared BEGIN READ WRITE and set_config with a bound value', async () => {
    const c = await reader('approle');
    await expect(c.query({ name: 'rw', text: 'BEGIN READ WRITE' })).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('read-only') });
    await expect(c.query({ text: "SELECT set_config('transaction_read_only', $1, true)", values: ['off'] })).rejects.toMatchObject({ code: '42501' });
    await expect(c.query({ text: 'SELECT set_config($1, $2, false)', values: ['default_transaction_read_only', 'off'] })).rejects.toMatchObject({ code: '42501' });
    await expect(c.query('delete from ledger')).rejects.toMatchObject({ code: '25006' });
    await c.end();
    expect(await count()).toBe(2);
  });

  test('read-only spellings still work, and a read-write session is not affected', async () => {
    const c = await reader('approle');
    await c.query('BEGIN READ ONLY');
    await c.query('SET TRANSACTION READ ONLY');
    await c.query("SET LOCAL transaction_read_only = 'on'");
    expect((await c.query('select count(*)::int as n from ledger')).rows).toEqual([{ n: 2 }]);
    await c.query('COMMIT');
    await c.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    await c.query('SET default_transaction_read_only = true');
    await c.end();

    const w = new pg.Client(env.clientConfig(await env.token(['developers'])));
    await w.connect();
    await w.query('BEGIN READ WRITE; SET transaction_read_only = off; DELETE FROM ledger WHERE id = 2; COMMIT');
    await w.end();
    expect(await count()).toBe(1);
  });
});
