import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandIO } from '../../../gateway/src/cli/io';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { main } from '../../../gateway/src/main';
import { SqlSessionSearch, type SessionSearchFilter } from '../../../gateway/src/state/session-search';
import { createSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { startTestGateway, type TestGateway } from '../../support/gateway';
import { startEcho, type Upstream } from '../../support/upstreams';

/**
 * `gatehouse index rebuild` against the embedded store a whole gateway used: the gateway records
 * with state.indexEvents off (the embedded default), so the console's text and decision filters find
 * nothing; with indexEvents turned on, the command refuses while that gateway runs, then, once it
 * is stopped, fills the event rows from the log store, and a second run adds nothing.
 */
function capture(): { io: CommandIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, out: () => out, err: () => err };
}

describe('gatehouse index rebuild', () => {
  let echo: Upstream;
  let gw: TestGateway;
  let configFile: string;

  /** What the console's search finds in the (stopped) gateway's embedded store, opened once. */
  const inspect = async (): Promise<{ rows: number; find: Record<string, string[]> }> => {
    const index = createSessionIndex(gw.config.state, { indexEvents: true });
    try {
      await index.init();
      const search = new SqlSessionSearch(index);
      const find: Record<string, string[]> = {};
      const filters: Record<string, SessionSearchFilter> = { all: {}, widgets: { q: 'widgets' }, denied: { decision: 'denied' }, ada: { user: 'ada' }, bea: { user: 'bea' } };
      for (const [name, filter] of Object.entries(filters)) {
        find[name] = (await search.search(filter, { limit: 10 }, { scope: 'all' })).rows.map((r) => r.id).sort();
      }
      const rows = Number((await index.store.query<{ n: number | string }>('select count(*) as n from gatehouse_session_events')).rows[0]!.n);
      return { rows, find };
    } finally {
      await index.close();
    }
  };

  beforeAll(async () => {
    echo = await startEcho();
    gw = await startTestGateway((dir) => ({
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      policy: { cedar: 'permit (principal in Gatehouse::Group::"developers", action, resource);\nforbid (principal, action == Gatehouse::Action::"http:DELETE", resource);' },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
      state: { embeddedPath: join(dir, 'state') },
    }));
    expect(gw.config.state.indexEvents).toBeUndefined(); // the embedded default: off
    for (const [who, method, path] of [['ada', 'GET', '/api/inventory/widgets'], ['bea', 'DELETE', '/api/inventory/gadgets/7']] as const) {
      const token = await mintDevToken({ subject: who, groups: ['developers'], keyPath: gw.config.identity.devIssuer.keyPath, createKey: false });
      const res = await fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(method === 'GET' ? 200 : 403);
    }
    // The same configuration, with the event index turned on and the admin listener where it really is.
    const config = { ...gw.config, listeners: { ...gw.config.listeners, admin: { ...gw.config.listeners.admin, port: gw.gateway.admin.port } }, state: { ...gw.config.state, indexEvents: true } };
    configFile = join(gw.dir, 'gatehouse.yaml');
    writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await echo?.close();
  });

  it('refuses while the gateway that owns the embedded store answers', async () => {
    const c = capture();
    expect(await main(['index', 'rebuild', '--config', configFile], c.io)).toBe(1);
    expect(c.err()).toMatch(/belongs to the gateway answering at http:\/\/127\.0\.0\.1:\d+: stop it, then rebuild \[GH_ERR_STATE_UNAVAILABLE\]/);
  });

  it('fills the event rows from the log store once the gateway is stopped; the filters then find the sessions', async () => {
    await gw.gateway.shutdown('test');
    const before = await inspect();
    expect(before.rows).toBe(0);
    expect(before.find.all).toHaveLength(2);
    expect(before.find.widgets).toEqual([]);

    const c = capture();
    expect(await main(['index', 'rebuild', '--config', configFile], c.io)).toBe(0);
    expect(c.out()).toMatch(/^rebuilt the session index from \d+ segments?: 2 sessions, \d+ events \(event rows indexed for the text and decision filters\)\n$/);
    expect(c.err()).toMatch(/index rebuild: (\d+)\/\1 segments/);

    const after = await inspect();
    expect(after.rows).toBeGreaterThan(0);
    expect(after.find.all).toEqual(before.find.all);
    expect(after.find.widgets).toEqual(after.find.ada);
    expect(after.find.denied).toEqual(after.find.bea);
    expect(after.find.ada).toHaveLength(1);
    expect(after.find.bea).toHaveLength(1);

    // Idempotent: a second run adds no row.
    expect(await main(['index', 'rebuild', '--config', configFile, '--quiet'], capture().io)).toBe(0);
    expect((await inspect()).rows).toBe(after.rows);
  }, 60_000);

  it('answers a wrong subcommand with its usage', async () => {
    const c = capture();
    expect(await main(['index', 'rebiuld'], c.io)).toBe(2);
    expect(c.err()).toContain('usage: gatehouse index rebuild');
  });
});
