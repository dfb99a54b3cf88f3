import pg from 'pg';
import { DEFAULT_POLICY, startPgTestEnv, type PgTestEnv } from '../../../support/pg-gateway';

type Json = Record<string, any>;

/**
 * Oversized SQL (judge.ts, `maxStatementLength`): the parser runs on the event loop, so a text
 * longer than the limit is never parsed. It is judged like an unparsed statement: refused where
 * `unparsedStatements` is `deny` (the default), judged by policy as `sql:unparsed` where it is
 * `allow`. Real PostgreSQL 15 behind the gateway, simple and extended protocol.
 */
describe('postgres statements longer than maxStatementLength', () => {
  const LIMIT = 2048;
  let env: PgTestEnv;
  let token: string;
  beforeAll(async () => {
    env = await startPgTestEnv({
      policy: DEFAULT_POLICY,
      connection: { maxStatementLength: LIMIT },
      extraConnections: (port) => [
        {
          name: 'bulk',
          kind: 'postgres',
          unparsedStatements: 'allow',
          maxStatementLength: LIMIT,
          upstream: { host: '127.0.0.1', port, database: 'appdb', user: 'gh_app', password: 'env:GH_PG_TEST_PASSWORD', tls: { mode: 'disable' } },
        },
      ],
    });
    token = await env.token();
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  /** A SELECT of `n` characters or more whose result says how long it was. */
  const longSelect = (n: number): string => `select length('${'x'.repeat(n)}') as n`;

  test('a text over the limit is refused unparsed (42501, the limit named), simple and extended; one under it runs', async () => {
    const c = new pg.Client(env.clientConfig(token, { application_name: 'too-long' }));
    await c.connect();
    await expect(c.query(longSelect(LIMIT))).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/maxStatementLength \(2048\)/) });
    await expect(c.query({ text: `${longSelect(LIMIT)} where $1::int = 1`, values: [1] })).rejects.toMatchObject({ code: '42501' });
    // The session keeps working, and a text under the limit is parsed and judged as usual.
    expect((await c.query(longSelect(100))).rows).toEqual([{ n: 100 }]);
    await c.end();

    const events = await env.events();
    const session = events.find((e) => e.type === 'session.start' && JSON.stringify(e.payload).includes('too-long'))?.session;
    const denials = events.filter((e) => e.session === session && e.type === 'policy.denied');
    expect(denials).toHaveLength(2);
    for (const d of denials) expect(d.payload).toMatchObject({ code: 'postgres.unparsed', action: 'sql:unparsed' });
    // No oversized text reached the server: only the short SELECT has a result.
    const results = events.filter((e) => e.session === session && e.type === 'pg.result');
    expect(results.map((r) => (r.payload as Json).tag)).toEqual(['SELECT 1']);
  });

  test('with unparsedStatements: allow, policy judges it as sql:unparsed and it runs', async () => {
    const c = new pg.Client({ ...env.clientConfig(token), database: 'bulk' });
    await c.connect();
    expect((await c.query(longSelect(LIMIT))).rows).toEqual([{ n: LIMIT }]);
    await c.end();
  });

  test('the limit is validated at load: below 1024 characters is refused', async () => {
    const { parseConfig } = await import('../../../../gateway/src/config/load');
    const r = parseConfig(
      [
        'mode: development',
        'listeners: { postgres: { address: 127.0.0.1, port: 0, allowPlaintext: true } }',
        'identity: { devIssuer: { enabled: true } }',
        'connections:',
        '  - { name: db, kind: postgres, maxStatementLength: 10, upstream: { host: 127.0.0.1, port: 5432, database: d, user: u, password: "env:X", tls: { mode: disable } } }',
      ].join('\n'),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path)).toContain('connections.0.maxStatementLength');
  });
});
