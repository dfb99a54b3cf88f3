import pg from 'pg';
import { startPgTestEnv, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 4 (the unbounded-write guardrail): with the `sql-guardrails` pack, an UPDATE or
 * DELETE whose WHERE does not restrict a column of its table by a literal or parameter is refused.
 * The near-misses from the issue and more; each checks the table itself afterwards.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);
`;

const NEAR_MISSES = [
  'DELETE FROM ledger WHERE 1 < 2',
  'DELETE FROM ledger WHERE id = id',
  'DELETE FROM ledger WHERE ledger.id = ledger.id',
  'DELETE FROM ledger WHERE true OR false',
  'DELETE FROM ledger WHERE id IS NOT NULL',
  'DELETE FROM ledger WHERE NOT false',
  'DELETE FROM ledger WHERE NOT (id = -1)',
  'DELETE FROM ledger WHERE id <> -1',
  'DELETE FROM ledger WHERE id > -2147483648',
  "DELETE FROM ledger WHERE 'a' = 'a'",
  'DELETE FROM ledger WHERE 1 = 1 AND 2 = 2',
  'DELETE FROM ledger WHERE (SELECT true)',
  'DELETE FROM ledger WHERE id = id + 0',
  'DELETE FROM ledger WHERE id IN (SELECT id FROM ledger)',
  'DELETE FROM ledger WHERE id = 1 OR true',
  'DELETE FROM ledger WHERE id = 1 OR id IS NOT NULL',
  'DELETE FROM ledger WHERE coalesce(id, 0) = coalesce(id, 0)',
  'DELETE FROM ledger WHERE 1 IN (1, 2)',
  'DELETE FROM ledger WHERE 1::int = 1',
  'DELETE FROM ledger WHERE true IS TRUE',
  'DELETE FROM ledger l WHERE ledger.id = 1 OR l.id = l.id',
  'DELETE FROM ledger USING ledger l2 WHERE l2.id = 1',
  'UPDATE ledger SET note = null WHERE note IS NULL OR note IS NOT NULL',
  "UPDATE ledger SET note = 'x' WHERE 2 > 1",
  "UPDATE ledger SET note = 'x' WHERE EXISTS (SELECT 1)",
  "WITH d AS (DELETE FROM ledger WHERE 0 < 1 RETURNING *) SELECT count(*) FROM d",
  // MERGE (PostgreSQL 15): the ON condition (or the WHEN MATCHED AND condition) is the WHERE.
  'MERGE INTO ledger USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE',
  'MERGE INTO ledger USING (SELECT 1) s ON 1 = 1 WHEN MATCHED THEN DELETE',
  "MERGE INTO ledger l USING (SELECT 1) s ON l.id = l.id WHEN MATCHED THEN UPDATE SET note = 'x'",
  'MERGE INTO ledger USING (SELECT 1) s ON ledger.id > 0 WHEN MATCHED THEN DELETE',
  'MERGE INTO ledger USING ledger src ON ledger.id = src.id WHEN MATCHED THEN DELETE',
  'MERGE INTO ledger USING (SELECT 1 AS one) s ON ledger.id = 1 OR true WHEN MATCHED THEN DELETE',
  "MERGE INTO ledger USING (SELECT 1) s ON true WHEN NOT MATCHED THEN INSERT VALUES (9, 'n') WHEN MATCHED AND ledger.note IS NOT NULL THEN DELETE",
];

describe('unbounded writes', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY, config: { policy: { cedar: POLICY, packs: ['sql-guardrails'] } } });
    await env.direct('create table ledger (id int primary key, note text)');
    await env.direct('grant all on ledger to gh_app');
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });
  beforeEach(async () => {
    await env.direct('truncate ledger');
    await env.direct("insert into ledger select g, 'n' || g from generate_series(1, 5) g");
  });
  const state = async () => (await env.direct('select id, note from ledger order by id')).rows;

  test.each(NEAR_MISSES)('%s is refused and changes nothing', async (sql) => {
    const before = await state();
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    await expect(c.query(sql)).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/pack.sql.unbounded-write/) });
    await c.end();
    expect(await state()).toEqual(before);
  });

  test('bounded writes go through and touch only their rows', async () => {
    const c = new pg.Client(env.clientConfig(await env.token()));
    await c.connect();
    await c.query('DELETE FROM ledger WHERE id = 1');
    await c.query('DELETE FROM ledger WHERE id = $1', [2]);
    await c.query("UPDATE ledger SET note = 'x' WHERE id IN (3, 4) AND note IS NOT NULL");
    await c.query("UPDATE ledger l SET note = 'y' WHERE l.id BETWEEN 5 AND 5 OR l.id = ANY($1::int[])", [[3]]);
    await c.query("MERGE INTO ledger USING (SELECT 1) s ON ledger.id = 4 WHEN MATCHED THEN UPDATE SET note = 'm'");
    await c.query('MERGE INTO ledger l USING (SELECT 1) s ON true WHEN MATCHED AND l.id = $1 THEN DELETE', [5]);
    await c.end();
    expect(await state()).toEqual([
      { id: 3, note: 'y' },
      { id: 4, note: 'm' },
    ]);
  });
});
