import type { Operation } from '../../../gateway/src/policy/decision';
import { rebuildSessionIndex } from '../../../gateway/src/state/index-rebuild';
import { SqlSessionSearch } from '../../../gateway/src/state/session-search';
import { createSessionIndex, type SqlSessionIndex } from '../../../gateway/src/state/sql-session-index';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../support/real-pipeline';

const POLICY = `
permit (principal in Gatehouse::Group::"developers", action, resource);
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;
const op = (method: string, path: string): Operation => ({ protocol: 'http', action: `http:${method}`, attributes: { method, path, host: 'h', connection: 'conn' }, summary: `${method} ${path}` });
const request = (method: string, path: string) =>
  ({ type: 'http.request', payload: { method, path, query: '', upstream: 'http://u', host: 'h', httpVersion: '1.1', headers: {}, body: { size: 0 } } }) as const;

describe('rebuilding the session index from the log store', () => {
  let world: PipelineWorld;
  let env: RealPipeline;
  let rebuilt: SqlSessionIndex;

  beforeAll(async () => {
    world = await startPipelineWorld();
    env = await startRealPipeline({ policy: POLICY, world, recordingMode: 'buffered' });
    rebuilt = createSessionIndex({ embeddedPath: 'memory://' });
  }, 60000);
  afterAll(async () => {
    await rebuilt?.close();
    await env?.close();
    await world?.close();
  });

  it('restores sessions, event rows, decisions, text and segment keys into an empty index', async () => {
    const s = await env.pipeline.openSession(await env.principal(['developers']), env.connection, 'http', { address: '127.0.0.1', clientSessionId: 'cc-rebuild' });
    await s.admit(op('GET', '/inventory/widgets'), s.newRequestId(), request('GET', '/inventory/widgets'));
    await s.admit(op('DELETE', '/inventory/widgets/7'), s.newRequestId(), request('DELETE', '/inventory/widgets/7'));
    await s.close('done');
    await env.events(s.id); // flushes the recorder into the log store

    const report = await rebuildSessionIndex(env.sink, rebuilt);
    expect(report).toMatchObject({ sessions: 1, events: 2 });
    const row = await rebuilt.get(s.id);
    expect(row).toMatchObject({ protocol: 'http', connection: 'conn', status: 'closed', clientSessionId: 'cc-rebuild', decisions: ['allowed', 'denied'], deniedCount: 1 });
    expect(row!.segments.length).toBeGreaterThan(0);

    const search = new SqlSessionSearch(rebuilt);
    const found = await search.search({ q: 'widgets', decision: 'denied' }, { limit: 10 }, { scope: 'all' });
    expect(found.rows.map((r) => r.id)).toEqual([s.id]);

    // The same rows the live path wrote.
    await world.index.flush();
    const live = await world.index.store.query('select seq, type, decisions, request_id from gatehouse_session_events where session_id = $1 order by seq', [s.id]);
    const again = await rebuilt.store.query('select seq, type, decisions, request_id from gatehouse_session_events where session_id = $1 order by seq', [s.id]);
    expect(again.rows).toEqual(live.rows);

    // Idempotent: a second run adds nothing.
    await rebuildSessionIndex(env.sink, rebuilt);
    const n = await rebuilt.store.query<{ n: number | string }>('select count(*) as n from gatehouse_session_events');
    expect(Number(n.rows[0]!.n)).toBe(2);
  });
});
