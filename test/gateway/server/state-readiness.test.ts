import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { createLogger } from '../../../gateway/src/observability/logger';
import { bootstrapState } from '../../../gateway/src/state/bootstrap';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { startEcho, type Upstream } from '../../support/upstreams';
import { startTestGateway, type TestGateway } from '../../support/gateway';

/**
 * A gateway started before its database role exists (Azure: the Container Apps start before the
 * scheduled bootstrap job's first run) must stay up, report not ready, refuse traffic, and turn
 * ready by itself once `gatehouse bootstrap-state` ran: no restart. Against a real PostgreSQL.
 * Before, startGateway threw at the first migration and the process exited (a restart loop).
 */
describe('a gateway whose state database is not prepared yet', () => {
  let db: TestPostgres;
  let echo: Upstream;
  let gw: TestGateway;
  let token: string;
  const logLines: Record<string, unknown>[] = [];
  const adminQuery = async (sql: string): Promise<pg.QueryResult> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  /** Resolves with the first logged line that satisfies `match` (already logged or later). */
  const logged = async (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (let i = 0; i < 400; i++) {
      const found = logLines.find(match);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`never logged; lines: ${JSON.stringify(logLines.slice(-5))}`);
  };
  const readyz = async () => {
    const res = await fetch(`${gw.adminUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as { ready: boolean; details: Record<string, unknown> } };
  };
  const send = async () => {
    const res = await fetch(`${gw.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } } };
  };

  beforeAll(async () => {
    [db, echo] = await Promise.all([startPostgres(), startEcho()]);
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    gw = await startTestGateway(
      (dir) => ({
        identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
        policy: { cedar: 'permit (principal in Gatehouse::Group::"developers", action, resource);' },
        // The gateway's own least-privilege role, as the kits configure it; it does not exist yet.
        state: { url: `postgres://gatehouse_app@127.0.0.1:${db.port}/${db.database}`, schema: 'gatehouse' },
        connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
      }),
      { logger: createLogger({ level: 'info', destination }), stateRetryMs: 25 },
    );
    token = await mintDevToken({ subject: 'ada', groups: ['developers'], keyPath: join(gw.dir, 'dev-issuer.json'), audience: 'gatehouse', ttlSeconds: 600 });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
    await db?.stop();
  });

  test('it starts anyway, live but not ready, and refuses traffic (503 GH_ERR_STATE_UNAVAILABLE) before the upstream', async () => {
    expect((await fetch(`${gw.adminUrl}/healthz`)).status).toBe(200);
    const ready = await readyz();
    expect(ready).toEqual({ status: 503, body: { ready: false, details: expect.objectContaining({ state: 'unavailable', stateCode: 'GH_ERR_STATE_UNAVAILABLE' }) } });
    const refused = await send();
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE', message: expect.stringContaining('not ready') });
    expect(echo.received).toEqual([]);
    // Discovery still answers: clients can learn where to connect while it is not ready.
    expect((await fetch(`${gw.url}/.well-known/gatehouse`)).status).toBe(200);
    expect(await logged((l) => l.msg === 'state database not ready: the gateway refuses traffic (not ready) and retries' && String(l.err).includes('gatehouse_app'))).toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
  });

  test('a role without its grants (no schema to create its tables in) is still not ready', async () => {
    await adminQuery('create role gatehouse_app login');
    await logged((l) => String(l.err).includes('no schema has been selected'));
    expect((await readyz()).status).toBe(503);
    expect((await send()).status).toBe(503);
    expect(echo.received).toEqual([]);
  });

  test('once gatehouse bootstrap-state ran, it turns ready by itself and serves, its tables its own', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const report = await bootstrapState(admin, { appRole: 'gatehouse_app', iamAuth: 'none', schema: 'gatehouse' });
      expect(report.problems).toEqual([]);
    } finally {
      await admin.end();
    }
    let last = await readyz();
    for (let i = 0; i < 400 && last.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      last = await readyz();
    }
    expect(last).toEqual({ status: 200, body: { ready: true, details: expect.objectContaining({ state: 'ok' }) } });
    expect(last.body.details.stateCode).toBeUndefined();
    const served = await send();
    expect(served.status).toBe(200);
    expect(echo.received.map((r) => r.url)).toEqual(['/items']);
    await logged((l) => l.msg === 'state database ready: the gateway now accepts traffic');
    const owners = await adminQuery("select distinct tableowner from pg_tables where schemaname = 'gatehouse'");
    expect(owners.rows).toEqual([{ tableowner: 'gatehouse_app' }]);
  });
});
