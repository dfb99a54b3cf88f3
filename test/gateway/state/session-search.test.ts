import { isGatehouseError } from '../../../gateway/src/errors';
import type { SessionIndex } from '../../../gateway/src/state/session-index';
import { decodeCursor, encodeCursor, SqlSessionSearch, type SessionViewer } from '../../../gateway/src/state/session-search';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';
import type { StateConfig } from '../../../gateway/src/config/schema';
import { startPostgres, type TestPostgres } from '../../support/postgres';

/** The same suite on both drivers: the console must behave the same on PGlite and PostgreSQL. */
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
const ALL: SessionViewer = { scope: 'all' };

function session(id: string, minute: number, over: Partial<Started> = {}): Started {
  return {
    id,
    protocol: 'http',
    connection: 'anthropic',
    subject: 'alice',
    userName: 'alice@example.com',
    issuer: 'https://idp.example.com',
    groups: ['dev'],
    clientAddress: '127.0.0.1',
    startedAt: new Date(Date.UTC(2026, 0, 1, 10, minute)),
    status: 'open',
    ...over,
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return isGatehouseError(e) ? `${e.code}:${String(e.details?.parameter)}` : 'other';
  }
  return 'resolved';
}

describe.each(backends)('SqlSessionSearch on %s', (_name, makeBackend) => {
  let index: SqlSessionIndex;
  let search: SqlSessionSearch;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    const backend = await makeBackend();
    stop = () => backend.stop();
    index = createSessionIndex(backend.config);
    await index.init();
    search = new SqlSessionSearch(index);
    // Two sessions share a start time: paging must still visit each once.
    await index.sessionStarted(session('s1', 1));
    await index.sessionStarted(session('s2', 2, { protocol: 'postgres', connection: 'orders' }));
    await index.sessionStarted(session('s3', 3, { subject: 'bob', userName: 'bob@example.com' }));
    await index.sessionStarted(session('s4', 3));
    await index.sessionStarted(session('s5', 4, { issuer: 'https://other.example.com' }));
    index.requestSeen('s2', 'req-x', 'client-42', new Date(Date.UTC(2026, 0, 1, 10, 2)));
    await index.sessionStarted(session('s6', 0, { clientSessionId: 'cc-abc' }));
    const at = new Date(Date.UTC(2026, 0, 1, 10, 5));
    const allow = { effect: 'allow', code: 'policy.permit', reasons: [] };
    index.eventRecorded({ sessionId: 's2', seq: 1, time: at, type: 'pg.query', requestId: 's2.1', payload: { protocol: 'simple', text: 'SELECT email FROM customers WHERE id = 7', decision: allow } });
    index.eventRecorded({ sessionId: 's2', seq: 2, time: at, type: 'policy.denied', requestId: 's2.2', payload: { effect: 'deny', operation: 'DROP TABLE invoices', message: 'DDL is refused' } });
    index.eventRecorded({ sessionId: 's1', seq: 1, time: at, type: 'http.request', requestId: 's1.1', payload: { method: 'POST', path: '/v1/messages', query: '', decision: allow } });
    index.eventRecorded({ sessionId: 's1', seq: 2, time: at, type: 'http.response', requestId: 's1.1', payload: { status: 200, body: { masked: { email: 1 } } } });
    index.eventRecorded({
      sessionId: 's1',
      seq: 3,
      time: at,
      type: 'llm.exchange',
      requestId: 's1.1',
      payload: { request: { messages: [{ role: 'user', content: 'please refactor the kubernetes manifests' }] }, response: { content: [{ type: 'text', text: 'I rewrote the deployment' }] } },
    });
    index.eventRecorded({ sessionId: 's6', seq: 1, time: at, type: 'http.error', requestId: 's6.1', payload: { reason: 'upstream_unavailable', message: 'upstream refused the connection' } });
    index.eventRecorded({ sessionId: 's4', seq: 1, time: at, type: 'approval.requested', requestId: 's4.1', payload: { operation: 'DELETE /v1/projects/9' } });
    await index.flush();
  }, 60000);
  afterAll(async () => {
    await index?.close();
    await stop?.();
  });

  it('pages newest first with a cursor, visiting every session once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await search.search({}, { limit: 2, cursor }, ALL);
      seen.push(...page.rows.map((r) => r.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['s5', 's4', 's3', 's2', 's1', 's6']);
  });

  it('returns no next cursor when the page holds the last row', async () => {
    const page = await search.search({}, { limit: 6 }, ALL);
    expect(page.rows).toHaveLength(6);
    expect(page.nextCursor).toBeNull();
  });

  it('filters by user, protocol, connection, time range and client request id', async () => {
    const ids = async (f: Parameters<SqlSessionSearch['search']>[0]): Promise<string[]> => (await search.search(f, { limit: 10 }, ALL)).rows.map((r) => r.id);
    expect(await ids({ user: 'bob@example.com' })).toEqual(['s3']);
    expect(await ids({ protocol: 'postgres' })).toEqual(['s2']);
    expect(await ids({ connection: 'orders' })).toEqual(['s2']);
    expect(await ids({ to: new Date(Date.UTC(2026, 0, 1, 10, 2)) })).toEqual(['s2', 's1', 's6']);
    expect(await ids({ requestId: 'client-42' })).toEqual(['s2']);
  });

  it('filters by Claude Code session id and by each decision', async () => {
    const ids = async (f: Parameters<SqlSessionSearch['search']>[0]): Promise<string[]> => (await search.search(f, { limit: 10 }, ALL)).rows.map((r) => r.id);
    expect(await ids({ claudeSessionId: 'cc-abc' })).toEqual(['s6']);
    expect(await ids({ claudeSessionId: 'cc-none' })).toEqual([]);
    expect(await ids({ decision: 'allowed' })).toEqual(['s2', 's1']);
    expect(await ids({ decision: 'denied' })).toEqual(['s2']);
    expect(await ids({ decision: 'reviewed' })).toEqual(['s4']);
    expect(await ids({ decision: 'masked' })).toEqual(['s1']);
    expect(await ids({ decision: 'failed' })).toEqual(['s6']);
    const row = (await search.search({ decision: 'denied' }, { limit: 1 }, ALL)).rows[0];
    expect(row?.decisions).toEqual(['allowed', 'denied']);
  });

  it('searches statements, paths and prompts and answers as full text', async () => {
    const ids = async (q: string): Promise<string[]> => (await search.search({ q }, { limit: 10 }, ALL)).rows.map((r) => r.id);
    expect(await ids('customers')).toEqual(['s2']);
    expect(await ids('drop invoices')).toEqual(['s2']);
    expect(await ids('/v1/messages')).toEqual(['s1']);
    expect(await ids('kubernetes')).toEqual(['s1']);
    expect(await ids('deployment')).toEqual(['s1']);
    expect(await ids('kubernetes or customers')).toEqual(['s2', 's1']);
    expect(await ids('customers -invoices')).toEqual([]);
    expect(await ids('KUBERNETES')).toEqual(['s1']);
    expect(await ids('nothing-like-this')).toEqual([]);
  });

  it('matches a phrase only where its words are adjacent in one event, with exclusions and alternatives', async () => {
    const ids = async (q: string): Promise<string[]> => (await search.search({ q }, { limit: 10 }, ALL)).rows.map((r) => r.id);
    // The session row keeps words without positions: phrases are checked on the event rows.
    expect(await ids('"from customers"')).toEqual(['s2']);
    expect(await ids('"customers from"')).toEqual([]);
    expect(await ids('"email from customers" -kubernetes')).toEqual(['s2']);
    expect(await ids('"from customers" -invoices')).toEqual([]);
    expect(await ids('"select email" -"drop table"')).toEqual([]);
    expect(await ids('"select email" -"table drop"')).toEqual(['s2']);
    expect(await ids('"rewrote the deployment" or "from customers"')).toEqual(['s2', 's1']);
    expect(await ids('"from customers" kubernetes')).toEqual([]);
  });

  it('answers text the same when the page runs past the newest sessions it walks first', async () => {
    // A window of 2: the newest two sessions are tested in page order, the older ones through the
    // text index; the pages must be the same as with the whole table walked.
    const narrow = new SqlSessionSearch(index, { textWindow: 2 });
    const ids = async (q: string, cursor?: string) => {
      const page = await narrow.search({ q }, { limit: 1, cursor }, ALL);
      return { ids: page.rows.map((r) => r.id), next: page.nextCursor };
    };
    const first = await ids('customers or kubernetes or deployment or upstream');
    expect(first.ids).toEqual(['s2']);
    const second = await ids('customers or kubernetes or deployment or upstream', first.next!);
    expect(second.ids).toEqual(['s1']);
    const third = await ids('customers or kubernetes or deployment or upstream', second.next!);
    expect(third).toEqual({ ids: ['s6'], next: null });
    expect((await narrow.search({ q: '"from customers" or "rewrote the deployment"' }, { limit: 10 }, ALL)).rows.map((r) => r.id)).toEqual(['s2', 's1']);
    expect((await narrow.search({ q: 'kubernetes -deployment' }, { limit: 10 }, ALL)).rows).toEqual([]);
  });

  it('combines filters, text and the viewer scope, and pages through a filtered list', async () => {
    const ids = async (f: Parameters<SqlSessionSearch['search']>[0], viewer: SessionViewer = ALL): Promise<string[]> => (await search.search(f, { limit: 10 }, viewer)).rows.map((r) => r.id);
    expect(await ids({ decision: 'allowed', protocol: 'http' })).toEqual(['s1']);
    expect(await ids({ decision: 'allowed', q: 'customers', connection: 'orders' })).toEqual(['s2']);
    expect(await ids({ decision: 'allowed', q: 'customers', connection: 'anthropic' })).toEqual([]);
    expect(await ids({ q: 'kubernetes' }, { scope: 'own', issuer: 'https://idp.example.com', subject: 'bob' })).toEqual([]);
    const first = await search.search({ decision: 'allowed' }, { limit: 1 }, ALL);
    expect(first.rows.map((r) => r.id)).toEqual(['s2']);
    const second = await search.search({ decision: 'allowed' }, { limit: 1, cursor: first.nextCursor! }, ALL);
    expect(second.rows.map((r) => r.id)).toEqual(['s1']);
    expect(second.nextCursor).toBeNull();
  });

  it('shows a non-admin only sessions of the same issuer and subject', async () => {
    const own = await search.search({}, { limit: 10 }, { scope: 'own', issuer: 'https://idp.example.com', subject: 'alice' });
    expect(own.rows.map((r) => r.id)).toEqual(['s4', 's2', 's1', 's6']);
    // Filtering for someone else's name cannot widen the viewer's scope.
    const other = await search.search({ user: 'bob' }, { limit: 10 }, { scope: 'own', issuer: 'https://idp.example.com', subject: 'alice' });
    expect(other.rows).toEqual([]);
  });

  it('refuses bad filters with the parameter named', async () => {
    expect(await code(search.search({ q: 'x'.repeat(501) }, { limit: 10 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:q');
    expect(await code(search.search({ q: '!!! &&' }, { limit: 10 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:q');
    expect(await code(search.search({ decision: 'approved' as never }, { limit: 10 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:decision');
    expect(await code(search.search({ q: 'kubernetes' }, { limit: 10 }, { scope: 'nobody' } as never))).toBe('GH_ERR_FORBIDDEN:undefined');
    expect(await code(search.search({}, { limit: 0 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:limit');
    expect(await code(search.search({}, { limit: 10, cursor: 'not a cursor' }, ALL))).toBe('GH_ERR_REQUEST_INVALID:cursor');
  });

  it('round-trips cursors and refuses forged ones', () => {
    const at = new Date('2026-01-01T10:00:00.123Z');
    expect(decodeCursor(encodeCursor({ startedAt: at, id: 'a' }))).toEqual({ startedAt: at, id: 'a' });
    expect(() => decodeCursor(Buffer.from('{"x":1}').toString('base64url'))).toThrow(/cursor/);
  });
});
