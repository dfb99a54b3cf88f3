import type { StateConfig } from '../../../gateway/src/config/schema';
import type { SessionIndex } from '../../../gateway/src/state/session-index';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { startPostgres, type TestPostgres } from '../../support/postgres';

/** The event rows behind the console's search: fed in batches, folded into session aggregates. */
const backends: Array<[string, () => Promise<{ config: StateConfig; stop(): Promise<void> }>]> = [
  ['embedded PGlite (memory)', async () => ({ config: { embeddedPath: 'memory://' }, stop: async () => undefined })],
  [
    'PostgreSQL 15',
    async () => {
      const server: TestPostgres = await startPostgres();
      return { config: { url: server.url, embeddedPath: 'unused' }, stop: () => server.stop() };
    },
  ],
];

type Started = Parameters<SessionIndex['sessionStarted']>[0];

function session(id: string, over: Partial<Started> = {}): Started {
  return {
    id,
    protocol: 'postgres',
    connection: 'billing-db',
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

describe.each(backends)('session event index on %s', (_name, makeBackend) => {
  let stop: () => Promise<void>;
  let index: SqlSessionIndex;

  beforeAll(async () => {
    const backend = await makeBackend();
    stop = () => backend.stop();
    index = createSessionIndex(backend.config, { flushIntervalMs: 60000, maxBatch: 3 });
    await index.init();
  }, 60000);

  afterAll(async () => {
    await index?.close();
    await stop?.();
  });

  beforeEach(async () => {
    await index.flush();
    await index.store.query('delete from gatehouse_sessions');
    await index.store.query('delete from gatehouse_session_events');
  });

  const at = new Date('2026-01-01T10:00:01Z');

  it('writes event rows in batches and folds decisions and text into the session row', async () => {
    await index.sessionStarted(session('s-1', { clientSessionId: 'cc-123' }));
    index.eventRecorded({ sessionId: 's-1', seq: 1, time: at, type: 'pg.query', requestId: 's-1.1', payload: { protocol: 'simple', text: 'select * from invoices', decision: { effect: 'allow', code: 'policy.allow', reasons: [] } } });
    index.eventRecorded({ sessionId: 's-1', seq: 2, time: at, type: 'pg.result', requestId: 's-1.1', payload: { ms: 1, error: { sqlstate: '42P01', message: 'relation does not exist' } } });
    expect(index.stats().pendingEvents).toBe(2); // below the batch size: nothing written yet
    index.eventRecorded({ sessionId: 's-1', seq: 3, time: at, type: 'policy.denied', requestId: 's-1.2', payload: { effect: 'deny', operation: 'DROP TABLE invoices', message: 'DDL is refused' } });
    await index.flush();
    const rows = await index.store.query<{ seq: number; type: string; decisions: number; request_id: string; words: string | null }>(
      `select seq, type, decisions, request_id, doc::text as words from gatehouse_session_events where session_id = 's-1' order by seq`,
    );
    expect(rows.rows.map((r) => [r.seq, r.type, r.decisions, r.request_id])).toEqual([
      [1, 'pg.query', 1, 's-1.1'],
      [2, 'pg.result', 16, 's-1.1'],
      [3, 'policy.denied', 2, 's-1.2'],
    ]);
    expect(rows.rows[0]!.words).toContain("'invoices'");
    const row = await index.get('s-1');
    expect(row).toMatchObject({ clientSessionId: 'cc-123', decisions: ['allowed', 'denied', 'failed'] });
    const hit = await index.store.query(`select id from gatehouse_sessions where doc @@ websearch_to_tsquery('simple', 'drop invoices')`);
    expect(hit.rows).toEqual([{ id: 's-1' }]);
  });

  it('folds in event rows that arrived before their session row', async () => {
    index.eventRecorded({ sessionId: 's-early', seq: 1, time: at, type: 'http.request', requestId: 's-early.1', payload: { method: 'GET', path: '/v1/models', query: '', decision: { effect: 'allow' } } });
    await index.flush();
    await index.sessionStarted(session('s-early', { protocol: 'http' }));
    expect(await index.get('s-early')).toMatchObject({ decisions: ['allowed'] });
    const hit = await index.store.query(`select id from gatehouse_sessions where doc @@ websearch_to_tsquery('simple', '/v1/models')`);
    expect(hit.rows).toEqual([{ id: 's-early' }]);
  });

  it('takes masks, masking failures and refused logins from the end of a session', async () => {
    await index.sessionStarted(session('s-m'));
    await index.sessionEnded('s-m', { endedAt: at, status: 'closed', eventCount: 3, requestCount: 1, deniedCount: 0, counters: { 'masked.email': 2, 'masking.failed': 1 } });
    expect(await index.get('s-m')).toMatchObject({ decisions: ['masked', 'failed'] });
    await index.sessionStarted(session('s-a', { subject: null, status: 'auth_failed' }));
    await index.sessionEnded('s-a', { endedAt: at, status: 'auth_failed', eventCount: 3, requestCount: 0, deniedCount: 0 });
    expect(await index.get('s-a')).toMatchObject({ decisions: ['failed'] });
  });

  it('writes an event seen twice once', async () => {
    await index.sessionStarted(session('s-1'));
    const e = { sessionId: 's-1', seq: 1, time: at, type: 'pg.query', payload: { text: 'select 1' } };
    index.eventRecorded(e);
    await index.flush();
    index.eventRecorded(e);
    await index.flush();
    const n = await index.store.query<{ n: string | number }>(`select count(*) as n from gatehouse_session_events`);
    expect(Number(n.rows[0]!.n)).toBe(1);
  });
});

describe('session event index when the store is unreachable', () => {
  it('never throws to the caller, keeps a bounded buffer and counts what it dropped', async () => {
    const server = await startPostgres();
    const index = createSessionIndex({ url: server.url, embeddedPath: 'unused' }, { flushIntervalMs: 60000, retryDelayMs: 60000, maxPendingEvents: 2 });
    try {
      await index.init();
      await server.stop();
      for (let seq = 1; seq <= 5; seq++) index.eventRecorded({ sessionId: 's-1', seq, time: new Date(), type: 'pg.query', payload: { text: 'select 1' } });
      expect(index.stats()).toMatchObject({ pendingEvents: 2, droppedEvents: 3 });
      await expect(index.flush()).rejects.toMatchObject({ code: 'GH_ERR_STATE_UNAVAILABLE' });
      expect(index.stats().pendingEvents).toBe(2);
    } finally {
      await index.close().catch(() => undefined);
      await server.stop();
    }
    expect(index.stats().droppedEvents).toBe(5);
  });
});
