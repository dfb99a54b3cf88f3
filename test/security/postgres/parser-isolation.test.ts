import pg from 'pg';
import { startPgTestEnv, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 16, class 5 (availability), the parser's part: one client sending deeply nested statements
 * cannot make the gateway refuse anyone else's statements. The other client's writes are counted
 * in the database itself; the refused statements are counted in the gateway's metrics.
 */
const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);
`;

describe("one client's deeply nested statements", () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({ policy: POLICY });
    await env.direct('create table hits (n int)');
    await env.direct('grant all on hits to gh_app');
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  test("do not refuse another client's statements, and are each counted", async () => {
    const attacker = new pg.Client(env.clientConfig(await env.token(['developers'], 'mallory')));
    const victim = new pg.Client(env.clientConfig(await env.token(['developers'], 'ada')));
    await Promise.all([attacker.connect(), victim.connect()]);
    const shapes = [
      (i: number) => `SELECT ${Array.from({ length: 20000 + i }, () => '1').join(' + ')}`,
      (i: number) => `SELECT ${'('.repeat(3000 + i)}1${')'.repeat(3000 + i)}`,
      (i: number) => `SELECT ${'(SELECT '.repeat(2000 + i)}1${')'.repeat(2000 + i)}`,
      (i: number) => `SELECT 'a'${' COLLATE "C"'.repeat(5000 + i)}`,
      (i: number) => Array.from({ length: 10000 + i }, () => 'SELECT 1').join(' UNION '),
    ];
    let stop = false;
    let refusedAttacks = 0;
    const attack = (async () => {
      for (let i = 0; !stop; i++) {
        await attacker.query(shapes[i % shapes.length]!(i)).then(
          () => undefined,
          () => refusedAttacks++,
        );
      }
    })();
    const answered: number[] = [];
    try {
      for (let i = 0; i < 150; i++) {
        await victim.query('insert into hits values ($1)', [i]);
        // A text the classifier has never seen (no cache hit): it must be parsed while the attack runs.
        const r = await victim.query(`select ${i} + count(*) as n from hits where n >= ${i}`);
        answered.push(Number(r.rows[0].n));
      }
    } finally {
      stop = true;
      await attack;
    }
    await Promise.all([attacker.end(), victim.end()]);
    expect(answered).toHaveLength(150);
    expect(refusedAttacks).toBeGreaterThan(0);
    expect((await env.direct('select count(*)::int as n from hits')).rows[0].n).toBe(150);
    const metrics = await env.gw.gateway.metrics.registry.getSingleMetricAsString('gatehouse_postgres_parser_events_total');
    const counted = [...metrics.matchAll(/gatehouse_postgres_parser_events_total\{[^}]*reason="(too_complex|crash)"[^}]*\} (\d+)/g)].reduce((sum, m) => sum + Number(m[2]), 0);
    expect(counted).toBeGreaterThanOrEqual(refusedAttacks);
  });
});
