import pg from 'pg';
import { DEFAULT_POLICY, startPgTestEnv, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 15, class 2 for PostgreSQL: a long-lived connection is not a way around a token's expiry.
 * When the token it logged in with expires (or the connection reaches maxSessionSeconds), the
 * gateway ends it with a FATAL and closes the upstream backend, checked in pg_stat_activity.
 */
describe('postgres connections end with their token', () => {
  let env: PgTestEnv;
  beforeAll(async () => {
    env = await startPgTestEnv({
      policy: DEFAULT_POLICY,
      extraConnections: (port) => [
        {
          name: 'short',
          kind: 'postgres',
          maxSessionSeconds: 2,
          upstream: { host: '127.0.0.1', port, database: 'appdb', user: UPSTREAM_USER, password: 'env:GH_PG_TEST_PASSWORD', tls: { mode: 'disable' } },
        },
      ],
    });
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  async function backends(app: string): Promise<number> {
    return Number((await env.direct('select count(*) as n from pg_stat_activity where application_name = $1', [app])).rows[0].n);
  }

  async function endsWith(c: pg.Client): Promise<Error & { code?: string }> {
    return new Promise((resolve) => c.once('error', (e: Error & { code?: string }) => resolve(e)));
  }

  async function gone(app: string): Promise<number> {
    for (let i = 0; i < 40 && (await backends(app)) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    return backends(app);
  }

  test('the connection ends with FATAL 28000 when its token expires, and its backend is gone', async () => {
    const token = await env.issuer.mintToken({ sub: 'ada', groups: ['developers'], email: 'ada@example.com', exp: Math.floor(Date.now() / 1000) + 6 });
    const c = new pg.Client(env.clientConfig(token, { application_name: 'expiry-probe' }));
    const ended = endsWith(c);
    await c.connect();
    expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    expect(await backends('expiry-probe')).toBe(1);
    const error = await ended;
    expect(error.code).toBe('28000');
    expect(error.message).toMatch(/token .* expired/);
    await c.end().catch(() => undefined);
    expect(await gone('expiry-probe')).toBe(0);
    const events = await env.events();
    expect(events.some((e) => e.type === 'session.end' && JSON.stringify(e.payload).includes('token_expired'))).toBe(true);
  });

  test('a connection ends at maxSessionSeconds even with a fresh token', async () => {
    const c = new pg.Client(env.clientConfig(await env.token(), { database: 'short', application_name: 'max-life-probe' }));
    const ended = endsWith(c);
    await c.connect();
    const error = await ended;
    expect(error.code).toBe('57P01');
    expect(error.message).toContain('maxSessionSeconds');
    await c.end().catch(() => undefined);
    expect(await gone('max-life-probe')).toBe(0);
  });
});
