import { isGatehouseError } from '../../../gateway/src/errors';
import type { SessionIndex } from '../../../gateway/src/state/session-index';
import { decodeCursor, encodeCursor, SqlSessionSearch, type SessionViewer } from '../../../gateway/src/state/session-search';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';

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

describe('SqlSessionSearch on the session table (embedded PGlite)', () => {
  let index: SqlSessionIndex;
  let search: SqlSessionSearch;

  beforeAll(async () => {
    index = createSessionIndex({ embeddedPath: 'memory://' });
    await index.init();
    search = new SqlSessionSearch(index);
    // Two sessions share a start time: paging must still visit each once.
    await index.sessionStarted(session('s1', 1));
    await index.sessionStarted(session('s2', 2, { protocol: 'postgres', connection: 'orders' }));
    await index.sessionStarted(session('s3', 3, { subject: 'bob', userName: 'bob@example.com' }));
    await index.sessionStarted(session('s4', 3));
    await index.sessionStarted(session('s5', 4, { issuer: 'https://other.example.com' }));
    index.requestSeen('s2', 'req-x', 'client-42', new Date(Date.UTC(2026, 0, 1, 10, 2)));
  }, 60000);
  afterAll(() => index.close());

  it('pages newest first with a cursor, visiting every session once', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await search.search({}, { limit: 2, cursor }, ALL);
      seen.push(...page.rows.map((r) => r.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['s5', 's4', 's3', 's2', 's1']);
  });

  it('returns no next cursor when the page holds the last row', async () => {
    const page = await search.search({}, { limit: 5 }, ALL);
    expect(page.rows).toHaveLength(5);
    expect(page.nextCursor).toBeNull();
  });

  it('filters by user, protocol, connection, time range and client request id', async () => {
    const ids = async (f: Parameters<SqlSessionSearch['search']>[0]): Promise<string[]> => (await search.search(f, { limit: 10 }, ALL)).rows.map((r) => r.id);
    expect(await ids({ user: 'bob@example.com' })).toEqual(['s3']);
    expect(await ids({ protocol: 'postgres' })).toEqual(['s2']);
    expect(await ids({ connection: 'orders' })).toEqual(['s2']);
    expect(await ids({ to: new Date(Date.UTC(2026, 0, 1, 10, 2)) })).toEqual(['s2', 's1']);
    expect(await ids({ requestId: 'client-42' })).toEqual(['s2']);
  });

  it('shows a non-admin only sessions of the same issuer and subject', async () => {
    const own = await search.search({}, { limit: 10 }, { scope: 'own', issuer: 'https://idp.example.com', subject: 'alice' });
    expect(own.rows.map((r) => r.id)).toEqual(['s4', 's2', 's1']);
    // Filtering for someone else's name cannot widen the viewer's scope.
    const other = await search.search({ user: 'bob' }, { limit: 10 }, { scope: 'own', issuer: 'https://idp.example.com', subject: 'alice' });
    expect(other.rows).toEqual([]);
  });

  it('refuses filters it cannot answer rather than ignoring them', async () => {
    expect(await code(search.search({ q: 'drop table' }, { limit: 10 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:q');
    expect(await code(search.search({ decision: 'denied' }, { limit: 10 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:decision');
    expect(await code(search.search({}, { limit: 0 }, ALL))).toBe('GH_ERR_REQUEST_INVALID:limit');
    expect(await code(search.search({}, { limit: 10, cursor: 'not a cursor' }, ALL))).toBe('GH_ERR_REQUEST_INVALID:cursor');
  });

  it('round-trips cursors and refuses forged ones', () => {
    const at = new Date('2026-01-01T10:00:00.123Z');
    expect(decodeCursor(encodeCursor({ startedAt: at, id: 'a' }))).toEqual({ startedAt: at, id: 'a' });
    expect(() => decodeCursor(Buffer.from('{"x":1}').toString('base64url'))).toThrow(/cursor/);
  });
});
