import type { StateConfig } from '../../../gateway/src/config/schema';
import { isGatehouseError } from '../../../gateway/src/errors';
import type { SessionIndex } from '../../../gateway/src/state/session-index';
import { SESSION_MIGRATIONS } from '../../../gateway/src/state/session-schema';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';
import type { StateQueryable, StateStore } from '../../../gateway/src/state/store';
import { startPostgres, type TestPostgres } from '../../support/postgres';

interface Backend {
  readonly config: StateConfig;
  /** For the real server: a fresh empty database on it. */
  readonly freshConfig?: (name: string) => Promise<StateConfig>;
  stop(): Promise<void>;
}

const backends: Array<[string, () => Promise<Backend>]> = [
  ['embedded PGlite (memory)', async () => ({ config: { embeddedPath: 'memory://' }, stop: async () => undefined })],
  [
    'PostgreSQL 15',
    async () => {
      const server: TestPostgres = await startPostgres();
      return {
        config: { url: server.url, embeddedPath: 'unused' },
        freshConfig: async (name) => ({ url: await server.createDatabase(name), embeddedPath: 'unused' }),
        stop: () => server.stop(),
      };
    },
  ],
];

type Started = Parameters<SessionIndex['sessionStarted']>[0];

function session(id: string, over: Partial<Started> = {}): Started {
  return {
    id,
    protocol: 'http',
    connection: 'anthropic',
    subject: 'user-1',
    userName: 'alice@example.com',
    issuer: 'https://idp.example.com',
    groups: ['dev'],
    clientAddress: '127.0.0.1',
    startedAt: new Date('2026-01-01T10:00:00Z'),
    status: 'open',
    ...over,
  };
}

/** Counts statements that reach the store, to prove request ids go in batches. */
function countingStore(inner: StateStore, statements: string[]): StateStore {
  const wrap = (q: StateQueryable): StateQueryable => ({
    query: (sql, params) => {
      statements.push(sql);
      return q.query(sql, params);
    },
  });
  return { ...inner, kind: inner.kind, open: () => inner.open(), close: () => inner.close(), query: wrap(inner).query, transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))) };
}

async function requestRowCount(store: StateStore): Promise<number> {
  const r = await store.query<{ n: number | string }>('select count(*) as n from gatehouse_session_requests');
  return Number(r.rows[0]!.n);
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.each(backends)('session index on %s', (_name, makeBackend) => {
  let backend: Backend;
  let index: SqlSessionIndex;

  beforeAll(async () => {
    backend = await makeBackend();
    index = createSessionIndex(backend.config);
    await index.init();
  }, 60000);

  afterAll(async () => {
    await index?.close();
    await backend?.stop();
  });

  beforeEach(async () => {
    await index.flush();
    await index.store.query('delete from gatehouse_sessions');
    await index.store.query('delete from gatehouse_session_requests');
    await index.store.query('delete from gatehouse_session_segments');
  });

  it('stores a started session and returns every field from get()', async () => {
    await index.sessionStarted(session('s-1', { groups: ['dev', 'ops'] }));
    expect(await index.get('s-1')).toEqual({
      id: 's-1',
      protocol: 'http',
      connection: 'anthropic',
      subject: 'user-1',
      userName: 'alice@example.com',
      issuer: 'https://idp.example.com',
      groups: ['dev', 'ops'],
      clientAddress: '127.0.0.1',
      startedAt: new Date('2026-01-01T10:00:00Z'),
      endedAt: null,
      status: 'open',
      eventCount: 0,
      requestCount: 0,
      deniedCount: 0,
      counters: {},
      segments: [],
      clientSessionId: null,
      decisions: [],
    });
    expect(await index.get('nope')).toBeUndefined();
  });

  it('keeps unauthenticated attempts with null principal fields', async () => {
    await index.sessionStarted(session('s-anon', { subject: null, userName: null, issuer: null, groups: [], connection: null, clientAddress: null, status: 'auth_failed' }));
    const row = await index.get('s-anon');
    expect(row).toMatchObject({ subject: null, userName: null, connection: null, groups: [], status: 'auth_failed' });
  });

  it('records the end of a session with its counts and counters', async () => {
    await index.sessionStarted(session('s-1'));
    await index.sessionEnded('s-1', { endedAt: new Date('2026-01-01T10:05:00Z'), status: 'closed', eventCount: 12, requestCount: 5, deniedCount: 1, counters: { 'masked.email': 3 } });
    expect(await index.get('s-1')).toMatchObject({ endedAt: new Date('2026-01-01T10:05:00Z'), status: 'closed', eventCount: 12, requestCount: 5, deniedCount: 1, counters: { 'masked.email': 3 } });
  });

  it('lists the segment keys of a session, each once', async () => {
    await index.sessionStarted(session('s-1'));
    await index.sessionStarted(session('s-2'));
    await index.segmentSealed('2026/01/01/seg-b.ndjson.gz', ['s-1', 's-2', 's-1']);
    await index.segmentSealed('2026/01/01/seg-a.ndjson.gz', ['s-1']);
    await index.segmentSealed('2026/01/01/seg-a.ndjson.gz', ['s-1']);
    expect((await index.get('s-1'))!.segments).toEqual(['2026/01/01/seg-a.ndjson.gz', '2026/01/01/seg-b.ndjson.gz']);
    expect((await index.get('s-2'))!.segments).toEqual(['2026/01/01/seg-b.ndjson.gz']);
  });

  it('does not overwrite a session started twice with the same id', async () => {
    await index.sessionStarted(session('s-1', { subject: 'first' }));
    await index.sessionStarted(session('s-1', { subject: 'second' }));
    expect((await index.get('s-1'))!.subject).toBe('first');
  });

  describe('list filters', () => {
    const t = (hhmm: string): Date => new Date(`2026-01-01T${hhmm}:00Z`);

    beforeEach(async () => {
      // a: alice, anthropic, 09:00-09:30 closed
      // b: bob, github, 10:00-10:10 closed
      // c: alice (by user name only), github, 11:00, still open
      // d: carol, anthropic, 12:00 auth_failed (ended at once)
      await index.sessionStarted(session('a', { subject: 'alice-sub', userName: 'alice@example.com', connection: 'anthropic', startedAt: t('09:00') }));
      await index.sessionEnded('a', { endedAt: t('09:30'), status: 'closed', eventCount: 1, requestCount: 1, deniedCount: 0 });
      await index.sessionStarted(session('b', { subject: 'bob-sub', userName: 'bob@example.com', connection: 'github', startedAt: t('10:00') }));
      await index.sessionEnded('b', { endedAt: t('10:10'), status: 'closed', eventCount: 1, requestCount: 1, deniedCount: 0 });
      await index.sessionStarted(session('c', { subject: 'other-sub', userName: 'alice-sub', connection: 'github', startedAt: t('11:00') }));
      await index.sessionStarted(session('d', { subject: 'carol-sub', userName: null, connection: 'anthropic', startedAt: t('12:00'), status: 'auth_failed' }));
      await index.sessionEnded('d', { endedAt: t('12:00'), status: 'auth_failed', eventCount: 1, requestCount: 0, deniedCount: 0 });
      index.requestSeen('a', 'req-a1', 'client-x', t('09:01'));
      index.requestSeen('b', 'req-b1', undefined, t('10:01'));
      index.requestSeen('c', 'req-c1', 'client-x', t('11:01'));
    });

    const ids = async (filter: Parameters<SessionIndex['list']>[0]): Promise<string[]> => (await index.list(filter)).map((s) => s.id);

    it('returns all sessions newest first without a filter', async () => {
      expect(await ids({})).toEqual(['d', 'c', 'b', 'a']);
    });

    it('filters by user, matching the subject or the user name', async () => {
      expect(await ids({ user: 'bob@example.com' })).toEqual(['b']);
      expect(await ids({ user: 'bob-sub' })).toEqual(['b']);
      expect(await ids({ user: 'alice-sub' })).toEqual(['c', 'a']);
      expect(await ids({ user: 'nobody' })).toEqual([]);
    });

    it('filters by connection', async () => {
      expect(await ids({ connection: 'github' })).toEqual(['c', 'b']);
    });

    it('filters by status', async () => {
      expect(await ids({ status: 'closed' })).toEqual(['b', 'a']);
      expect(await ids({ status: 'open' })).toEqual(['c']);
    });

    it('filters by time range: sessions active at any point in it, open ones included', async () => {
      expect(await ids({ from: t('09:15'), to: t('09:45') })).toEqual(['a']);
      expect(await ids({ from: t('09:31'), to: t('09:59') })).toEqual([]);
      expect(await ids({ from: t('10:05') })).toEqual(['d', 'c', 'b']);
      expect(await ids({ to: t('10:00') })).toEqual(['b', 'a']);
      expect(await ids({ from: t('23:00') })).toEqual(['c']);
    });

    it('filters by gatehouse request id and by client request id', async () => {
      expect(await ids({ requestId: 'req-b1' })).toEqual(['b']);
      expect(await ids({ requestId: 'client-x' })).toEqual(['c', 'a']);
      expect(await ids({ requestId: 'req-none' })).toEqual([]);
    });

    it('combines filters', async () => {
      expect(await ids({ user: 'alice-sub', connection: 'github' })).toEqual(['c']);
      expect(await ids({ requestId: 'client-x', status: 'closed' })).toEqual(['a']);
      expect(await ids({ user: 'alice-sub', from: t('09:45'), to: t('10:30') })).toEqual([]);
      expect(await ids({ connection: 'anthropic', status: 'auth_failed', from: t('11:59') })).toEqual(['d']);
    });

    it('honours the limit, keeping the newest', async () => {
      expect(await ids({ limit: 2 })).toEqual(['d', 'c']);
      expect(await ids({ limit: 1, connection: 'github' })).toEqual(['c']);
    });

    it('refuses a limit that is not a positive integer', async () => {
      await expect(index.list({ limit: 0 })).rejects.toMatchObject({ code: 'GH_ERR_REQUEST_INVALID' });
      await expect(index.list({ limit: -3 })).rejects.toMatchObject({ code: 'GH_ERR_REQUEST_INVALID' });
      await expect(index.list({ limit: 1.5 })).rejects.toMatchObject({ code: 'GH_ERR_REQUEST_INVALID' });
    });

    it('treats filter values as data, not SQL', async () => {
      expect(await ids({ user: "x' or '1'='1" })).toEqual([]);
    });
  });

  describe('request id batching', () => {
    it('writes nothing per request, and one insert for the whole batch on flush', async () => {
      const statements: string[] = [];
      const batched = createSessionIndex(backend.config, { store: countingStore(index.store, statements), flushIntervalMs: 60000 });
      await batched.init();
      await batched.sessionStarted(session('s-1'));
      statements.length = 0;
      for (let i = 0; i < 250; i++) batched.requestSeen('s-1', `req-${i}`, i % 2 === 0 ? `client-${i}` : undefined, new Date('2026-01-01T10:00:01Z'));
      expect(statements).toEqual([]);
      expect(await requestRowCount(index.store)).toBe(0);
      expect(batched.stats().pendingRequestIds).toBe(250);

      await batched.flush();
      expect(statements.filter((s) => s.includes('insert into gatehouse_session_requests'))).toHaveLength(1);
      expect(await requestRowCount(index.store)).toBe(250);
      expect(batched.stats().pendingRequestIds).toBe(0);
      expect((await batched.list({ requestId: 'client-42' })).map((s) => s.id)).toEqual(['s-1']);
      await batched.close();
      // The shared store stays open for its owner.
      expect(await requestRowCount(index.store)).toBe(250);
    });

    it('splits a large backlog into batches of maxBatch', async () => {
      const statements: string[] = [];
      const batched = createSessionIndex(backend.config, { store: countingStore(index.store, statements), flushIntervalMs: 60000, maxBatch: 100 });
      await batched.init();
      statements.length = 0;
      for (let i = 0; i < 99; i++) batched.requestSeen('s-1', `req-${i}`, undefined, new Date());
      await batched.flush();
      for (let i = 99; i < 250; i++) batched.requestSeen('s-1', `req-${i}`, undefined, new Date());
      await batched.flush();
      expect(statements.filter((s) => s.includes('insert into gatehouse_session_requests')).length).toBe(3);
      expect(await requestRowCount(index.store)).toBe(250);
      await batched.close();
    });

    it('writes buffered request ids on its own timer', async () => {
      const timed = createSessionIndex(backend.config, { store: index.store, flushIntervalMs: 5 });
      await timed.init();
      timed.requestSeen('s-1', 'req-timer', undefined, new Date());
      await waitFor(async () => (await requestRowCount(index.store)) === 1, 'the timed batch');
      await timed.close();
    });

    it('writes buffered request ids on close()', async () => {
      const closing = createSessionIndex(backend.config, { store: index.store, flushIntervalMs: 60000 });
      await closing.init();
      closing.requestSeen('s-1', 'req-close', undefined, new Date());
      await closing.close();
      expect(await requestRowCount(index.store)).toBe(1);
      await expect(closing.list({})).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    });

    it('ignores the same request id seen twice', async () => {
      index.requestSeen('s-1', 'req-dup', undefined, new Date());
      index.requestSeen('s-1', 'req-dup', undefined, new Date());
      await index.flush();
      index.requestSeen('s-1', 'req-dup', undefined, new Date());
      await index.flush();
      expect(await requestRowCount(index.store)).toBe(1);
    });
  });

  it('gives the store one transaction that commits or rolls back, passing the caller\'s error through', async () => {
    await index.store.query('create table if not exists tx_probe (n int)');
    await index.store.query('delete from tx_probe');
    await index.store.transaction(async (tx) => {
      await tx.query('insert into tx_probe values ($1)', [1]);
    });
    await expect(
      index.store.transaction(async (tx) => {
        await tx.query('insert into tx_probe values ($1)', [2]);
        throw new Error('changed my mind');
      }),
    ).rejects.toEqual(new Error('changed my mind'));
    await expect(index.store.transaction((tx) => tx.query('select * from no_such_table'))).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    expect((await index.store.query<{ n: number }>('select n from tx_probe')).rows).toEqual([{ n: 1 }]);
  });

  it('applies the schema once however often init runs', async () => {
    const again = createSessionIndex(backend.config, { store: index.store });
    await again.init();
    await again.init();
    await index.init();
    const r = await index.store.query<{ component: string; version: number }>("select component, version from gatehouse_schema_migrations where component = 'sessions'");
    expect(r.rows.map((row) => Number(row.version)).sort()).toEqual(SESSION_MIGRATIONS.map((m) => m.version));
    await again.close();
  });

  it('survives two instances initializing a fresh database at the same time', async () => {
    if (backend.freshConfig === undefined) return; // one PGlite instance cannot be opened twice
    for (let round = 0; round < 3; round++) {
      const config = await backend.freshConfig(`concurrent_init_${round}`);
      const replicas = [createSessionIndex(config), createSessionIndex(config), createSessionIndex(config)];
      try {
        await Promise.all(replicas.map((r) => r.init()));
        await replicas[0]!.sessionStarted(session('s-x'));
        expect((await replicas[1]!.get('s-x'))?.id).toBe('s-x');
        const r = await replicas[2]!.store.query<{ n: string | number }>('select count(*) as n from gatehouse_schema_migrations');
        expect(Number(r.rows[0]!.n)).toBe(SESSION_MIGRATIONS.length);
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
    }
  });
});

describe('session index when the store is unreachable', () => {
  it('rejects init and queries with GH_ERR_STATE_UNAVAILABLE for a closed port', async () => {
    const server = await startPostgres();
    const url = server.url;
    await server.stop(); // the port is now closed
    const index = createSessionIndex({ url, embeddedPath: 'unused' }, { });
    await expect(index.init()).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    await expect(index.list({})).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    await expect(index.get('x')).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    await index.close();
  });

  it('fails closed when the server goes away, keeps request ids buffered, and never leaks the URL', async () => {
    const server = await startPostgres();
    const url = server.url.replace('postgres@', 'postgres:s3cret-pass@');
    const index = createSessionIndex({ url, embeddedPath: 'unused' }, { flushIntervalMs: 60000, retryDelayMs: 60000 });
    try {
      await index.init();
      await index.sessionStarted(session('s-1'));
      await server.stop();
      index.requestSeen('s-1', 'req-1', undefined, new Date());
      const error = await index.flush().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isGatehouseError(error, 'GH_ERR_STATE_UNAVAILABLE')).toBe(true);
      expect(String((error as Error).message)).not.toContain('s3cret-pass');
      expect(index.stats().pendingRequestIds).toBe(1);
      await expect(index.get('s-1')).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
      await expect(index.sessionStarted(session('s-2'))).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
    } finally {
      await index.close().catch(() => undefined);
      await server.stop();
    }
    expect(index.stats().droppedRequestIds).toBe(1);
  });

  it('refuses a secret-reference URL without a resolver, and resolves one with it', async () => {
    const refused = createSessionIndex({ url: 'env:GH_TEST_STATE_URL', embeddedPath: 'unused' });
    await expect(refused.init()).rejects.toMatchObject({ code: 'GH_ERR_CONFIG_INVALID' });
    await refused.close();

    const server = await startPostgres();
    const resolved = createSessionIndex({ url: 'env:GH_TEST_STATE_URL', embeddedPath: 'unused' }, { resolveSecret: async (ref) => (ref === 'env:GH_TEST_STATE_URL' ? server.url : 'nope') });
    try {
      await resolved.init();
      expect(await resolved.list({})).toEqual([]);
    } finally {
      await resolved.close();
      await server.stop();
    }
  });
});
