import pg from 'pg';
import { DANGEROUS_FUNCTIONS, READ_FUNCTIONS, VOLATILE_READ_FUNCTIONS, WRITING_FUNCTIONS } from '../../../../../gateway/src/protocols/postgres/sql/functions';
import { startPostgres, type TestPostgres } from '../../../../support/postgres';

/** The read allow-list checked against a real PostgreSQL 15 catalog. */
describe('the read allow-list', () => {
  let db: TestPostgres;
  let rows: { proname: string; volatile: string[] }[];
  beforeAll(async () => {
    db = await startPostgres();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query(
      "select proname, array_agg(distinct provolatile::text) as volatile from pg_proc where pronamespace = 'pg_catalog'::regnamespace and proname = any($1) group by proname",
      [[...READ_FUNCTIONS]],
    );
    rows = r.rows as typeof rows;
    await c.end();
  }, 60000);
  afterAll(async () => {
    await db?.stop();
  });

  test('every name is a pg_catalog function', () => {
    const found = new Set(rows.map((r) => r.proname));
    expect([...READ_FUNCTIONS].filter((n) => !found.has(n))).toEqual([]);
  });

  test('none is volatile, except the few whose only effect is their result', () => {
    const volatile = rows.filter((r) => r.volatile.includes('v')).map((r) => r.proname).sort();
    expect(volatile).toEqual([...VOLATILE_READ_FUNCTIONS].sort());
  });

  test('the lists do not overlap', () => {
    for (const n of READ_FUNCTIONS) {
      expect(DANGEROUS_FUNCTIONS.has(n) || WRITING_FUNCTIONS.has(n)).toBe(false);
    }
  });
});
