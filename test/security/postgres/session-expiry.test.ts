import pg from 'pg';
import { DEFAULT_POLICY, startPgTestEnv, UPSTREAM_USER, type PgTestEnv } from '../../support/pg-gateway';

/**
 * Issue 15, class 2 for PostgreSQL: a long-lived connection is not a way around a token's expiry.
 * When the token it logged in with expires (or the connection reaches maxSessionSeconds), the
 * gateway ends it with a FATAL and closes the upstream backend, checked in pg_stat_activity.
 *
 * Robust under load (fake timers cannot reach the gateway's and PostgreSQL's processes): the token
 * is minted right before connecting, and when the machine is so slow that the connection could not
 * be shown live before the token expired, the test tries again with a longer-lived token, so what
 * it proves (live, then ended by the expiry) holds for the attempt that counts. Hooks and waits
 * are generous; they only cost time when the machine is slow.
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
  }, 180000);
  afterAll(async () => {
    await env?.stop();
  }, 60000);

  async function backends(app: string): Promise<number> {
    return Number((await env.direct('select count(*) as n from pg_stat_activity where application_name = $1', [app])).rows[0].n);
  }

  async function endsWith(c: pg.Client): Promise<Error & { code?: string }> {
    return new Promise((resolve) => c.once('error', (e: Error & { code?: string }) => resolve(e)));
  }

  /** Waits (up to 20 s: a loaded machine ends backends slowly) until no backend of `app` is left. */
  async function gone(app: string): Promise<number> {
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && (await backends(app)) > 0) await new Promise((r) => setTimeout(r, 50));
    return backends(app);
  }

  /**
   * Connects with a token that expires `lifetime` seconds from now and shows the connection live
   * (a query, its backend). Undefined when that could not be shown before the token expired (a
   * loaded machine): the caller tries again with a longer lifetime. The last attempt asserts.
   */
  async function liveConnection(lifetime: number, last: boolean): Promise<{ c: pg.Client; ended: Promise<Error & { code?: string }> } | undefined> {
    const expiresMs = (Math.floor(Date.now() / 1000) + lifetime) * 1000;
    const token = await env.issuer.mintToken({ sub: 'ada', groups: ['developers'], email: 'ada@example.com', exp: expiresMs / 1000 });
    const c = new pg.Client(env.clientConfig(token, { application_name: 'expiry-probe' }));
    const ended = endsWith(c);
    try {
      await c.connect();
      const rows = (await c.query('select 1 as one')).rows;
      const live = await backends('expiry-probe');
      // The checks must have finished before the expiry could have ended the connection.
      if (!last && Date.now() >= expiresMs - 500) throw new Error('too slow');
      expect(rows).toEqual([{ one: 1 }]);
      expect(live).toBe(1);
      return { c, ended };
    } catch (e) {
      await c.end().catch(() => undefined);
      await gone('expiry-probe');
      if (last) throw e;
      return undefined;
    }
  }

  test('the connection ends with FATAL 28000 when its token expires, and its backend is gone', async () => {
    const lifetimes = [6, 20, 60];
    let probe: Awaited<ReturnType<typeof liveConnection>>;
    for (let i = 0; i < lifetimes.length && probe === undefined; i++) probe = await liveConnection(lifetimes[i]!, i === lifetimes.length - 1);
    const { c, ended } = probe!;
    const error = await ended;
    expect(error.code).toBe('28000');
    expect(error.message).toMatch(/token .* expired/);
    await c.end().catch(() => undefined);
    expect(await gone('expiry-probe')).toBe(0);
    const events = await env.events();
    expect(events.some((e) => e.type === 'session.end' && JSON.stringify(e.payload).includes('token_expired'))).toBe(true);
  }, 180000);

  test('a connection ends at maxSessionSeconds even with a fresh token', async () => {
    const c = new pg.Client(env.clientConfig(await env.token(), { database: 'short', application_name: 'max-life-probe' }));
    const ended = endsWith(c);
    await c.connect();
    const error = await ended;
    expect(error.code).toBe('57P01');
    expect(error.message).toContain('maxSessionSeconds');
    await c.end().catch(() => undefined);
    expect(await gone('max-life-probe')).toBe(0);
  }, 60000);
});
