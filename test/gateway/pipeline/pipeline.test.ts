import type { Decision, Operation } from '../../../gateway/src/policy/decision';
import type { GatewaySession } from '../../../gateway/src/pipeline/types';
import type { AuditEvent } from '../../../gateway/src/recording/events';
import { EVENT_CODES } from '../../../gateway/src/recording/event-catalog';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline, type RealPipelineOptions } from '../../support/real-pipeline';

const POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
@message("DELETE is not allowed")
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;

const op = (method: string, path = '/items'): Operation => ({ protocol: 'http', action: `http:${method}`, attributes: { method, path, host: 'h', connection: 'conn' }, summary: `${method} ${path}` });
const request = (method: string) =>
  ({ type: 'http.request', payload: { method, path: '/items', query: '', upstream: 'http://u/items', host: 'h', httpVersion: '1.1', headers: {}, body: { size: 0 } } }) as const;

let world: PipelineWorld;
beforeAll(async () => {
  world = await startPipelineWorld();
}, 60_000);
afterAll(() => world.close());

let env: RealPipeline | undefined;
async function start(options: Partial<RealPipelineOptions> = {}): Promise<RealPipeline> {
  env = await startRealPipeline({ policy: POLICY, world, ...options });
  return env;
}
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function open(e: RealPipeline, groups = ['developers']): Promise<GatewaySession> {
  return e.pipeline.openSession(await e.principal(groups), e.connection, 'http', { address: '127.0.0.1' });
}

/** The index is updated in the background (never on an operation's path): poll it briefly. */
async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the session index did not catch up');
}

const types = (events: AuditEvent[]) => events.map((x) => x.type);

describe('GatewayPipeline: session.admit', () => {
  it('buffered: an allowed operation is decided and its request event recorded in this turn, with the decision folded in', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e);
    const id = s.newRequestId();
    const admitted = s.admit(op('GET'), id, request('GET'));
    expect(admitted).not.toBeInstanceOf(Promise);
    expect((admitted as Decision).effect).toBe('allow');
    await s.close('done');
    const events = await e.events(s.id);
    expect(types(events)).toEqual(['session.start', 'http.request', 'session.end']);
    expect(events[1]).toMatchObject({ requestId: id, code: EVENT_CODES['http.request'], payload: { method: 'GET', decision: { effect: 'allow', code: 'policy.permit', reasons: ['developers'] } } });
  });

  it('strict: an allowed operation is admitted only once its request event is durably stored', async () => {
    const e = await start({ recordingMode: 'strict' });
    const s = await open(e);
    const writes = e.sink.puts + e.sink.appends;
    const admitted = s.admit(op('GET'), s.newRequestId(), request('GET'));
    expect(admitted).toBeInstanceOf(Promise);
    expect((await admitted).effect).toBe('allow');
    expect(e.sink.puts + e.sink.appends).toBeGreaterThan(writes);
  });

  it('a denial is returned (not thrown), recorded as policy.denied, counted, and the request event is not recorded', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e);
    const id = s.newRequestId();
    const decision = await s.admit(op('DELETE'), id, request('DELETE'));
    expect(decision).toMatchObject({ effect: 'deny', code: 'policy.forbid', reasons: ['no-deletes'] });
    await s.close('done');
    const events = await e.events(s.id);
    expect(types(events)).toEqual(['session.start', 'policy.denied', 'session.end']);
    expect(events[1]).toMatchObject({ requestId: id, code: EVENT_CODES['policy.denied'], payload: { effect: 'deny', code: 'policy.forbid', operation: 'DELETE /items', action: 'http:DELETE' } });
    expect(events[2]!.payload).toMatchObject({ denied: 1 });
  });

  it('strict: a denial is durable before it is returned and counted in session.end (the authorize path, not the fast one)', async () => {
    const e = await start({ recordingMode: 'strict' });
    const s = await open(e);
    const admitted = s.admit(op('DELETE'), s.newRequestId(), request('DELETE'));
    expect(admitted).toBeInstanceOf(Promise);
    expect(await admitted).toMatchObject({ effect: 'deny', code: 'policy.forbid' });
    expect((await e.storedEvents()).filter((x) => x.session === s.id).map((x) => x.type)).toContain('policy.denied');
    await s.close('done');
    const events = await e.events(s.id);
    expect(types(events)).toEqual(['session.start', 'policy.denied', 'session.end']);
    expect(events[2]!.payload).toMatchObject({ denied: 1 });
  });

  it('judges under the operation principal, not the session one, and names it in the record', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e, ['developers']);
    const other = await e.principal(['guests']);
    const decision = await s.admit(op('GET'), s.newRequestId(), request('GET'), { principal: other });
    expect(decision).toMatchObject({ effect: 'deny', code: 'policy.no_permit' });
    await s.close('done');
    const denied = (await e.events(s.id)).find((x) => x.type === 'policy.denied')!;
    expect(denied.payload).toMatchObject({ principal: { subject: 'alice', groups: ['guests'] } });
  });

  it('fails closed when policy evaluation throws: a recorded denial', async () => {
    const e = await start({
      recordingMode: 'buffered',
      policyEngine: () => ({
        decide: () => {
          throw new Error('engine broke');
        },
      }),
    });
    const s = await open(e);
    const decision = await s.admit(op('GET'), s.newRequestId(), request('GET'));
    expect(decision).toMatchObject({ effect: 'deny', code: 'policy.error' });
    await s.close('done');
    expect(types(await e.events(s.id))).toEqual(['session.start', 'policy.denied', 'session.end']);
  });

  it('review without approvals configured is a denial (approval.unavailable)', async () => {
    const e = await start({ recordingMode: 'strict' });
    const s = await open(e);
    const decision = await s.admit(op('GET'), s.newRequestId(), request('GET'), { review: true });
    expect(decision).toMatchObject({ effect: 'deny', code: 'approval.unavailable' });
    await s.close('done');
    const events = await e.events(s.id);
    expect(types(events)).toEqual(['session.start', 'policy.denied', 'session.end']);
    expect(events[2]!.payload).toMatchObject({ denied: 1 });
  });

  it('a review the handler denies is a counted refusal (session.end denied)', async () => {
    const e = await start({
      recordingMode: 'buffered',
      review: async (_s, operation, _id, decision) => ({ effect: 'deny', code: 'approval.denied', reasons: decision.reasons, message: `denied ${operation.summary}` }),
    });
    const s = await open(e);
    expect(await s.admit(op('GET'), s.newRequestId(), request('GET'), { review: true })).toMatchObject({ effect: 'deny', code: 'approval.denied' });
    await s.close('done');
    const events = await e.events(s.id);
    expect(events.find((x) => x.type === 'policy.denied')).toMatchObject({ payload: { code: 'approval.denied' } });
    expect(events.at(-1)).toMatchObject({ type: 'session.end', payload: { denied: 1 } });
  });

  it('review goes through the review handler; a grant admits and records the request', async () => {
    const e = await start({
      recordingMode: 'strict',
      review: async (_s, operation, _id, decision) => ({ effect: 'allow', code: 'approval.granted', reasons: decision.reasons, message: `approved ${operation.summary}` }),
    });
    const s = await open(e);
    const id = s.newRequestId();
    const decision = await s.admit(op('GET'), id, request('GET'), { review: true });
    expect(decision).toMatchObject({ effect: 'allow', code: 'approval.granted' });
    await s.close('done');
    const events = await e.events(s.id);
    expect(events.find((x) => x.type === 'http.request')).toMatchObject({ requestId: id, payload: { decision: { code: 'approval.granted' } } });
  });

  it('fails closed when the request event cannot be stored: admit rejects and nothing says it was allowed', async () => {
    const e = await start({ recordingMode: 'strict' });
    const s = await open(e);
    e.sink.failWith = 'ENOSPC';
    await expect(s.admit(op('GET'), s.newRequestId(), request('GET'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
  });

  it('refuses an operation whose token has expired (GH_ERR_SESSION_EXPIRED), in this turn, recording nothing for it', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const fresh = await e.principal(['developers']);
    // Past the issuer's clock skew: the verifier itself would now refuse this token.
    const stale = { ...fresh, expiresAt: Math.floor(Date.now() / 1000) - 3600 };
    const s = await e.pipeline.openSession(stale, e.connection, 'http', { address: '127.0.0.1' });
    expect(() => s.admit(op('GET'), s.newRequestId(), request('GET'))).toThrow(expect.objectContaining({ code: 'GH_ERR_SESSION_EXPIRED' }));
    // The operation's own principal decides, not the session's: a fresh one is admitted, a stale one is not.
    expect(s.admit(op('GET'), s.newRequestId(), request('GET'), { principal: fresh })).toMatchObject({ effect: 'allow' });
    // Within the issuer's clock skew (60 s by default) the verifier still accepts the token: so does admit.
    const skewed = { ...fresh, expiresAt: Math.floor(Date.now() / 1000) - 10 };
    expect(s.admit(op('GET'), s.newRequestId(), request('GET'), { principal: skewed })).toMatchObject({ effect: 'allow' });
    const live = await open(e);
    expect(() => live.admit(op('GET'), live.newRequestId(), request('GET'), { principal: stale, review: true })).toThrow(expect.objectContaining({ code: 'GH_ERR_SESSION_EXPIRED' }));
    await s.close('done');
    await live.close('done');
    expect(types(await e.events(s.id))).toEqual(['session.start', 'http.request', 'http.request', 'session.end']);
    expect(types(await e.events(live.id))).toEqual(['session.start', 'session.end']);
  });

  it('fails closed on a closed session: admit throws in this turn (buffered)', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e);
    await s.close('done');
    expect(() => s.admit(op('GET'), s.newRequestId(), request('GET'))).toThrow(expect.objectContaining({ code: 'GH_ERR_RECORDING_CLOSED' }));
  });
});

describe('GatewayPipeline: session.refuse', () => {
  it.each(['strict', 'buffered'] as const)('%s: records the refusal under its code before it is answered and counts it', async (mode) => {
    const e = await start({ recordingMode: mode });
    const s = await open(e);
    const id = s.newRequestId();
    const writes = e.sink.puts + e.sink.appends;
    const pending = s.refuse(op('POST', '/unparsed'), 'postgres.unparsed', 'could not parse', id, { reasons: ['unparsedStatements'] });
    if (mode === 'strict') {
      // Durable: the sink has acknowledged it by the time the promise resolves.
      expect(pending).toBeInstanceOf(Promise);
      await pending;
      expect(e.sink.puts + e.sink.appends).toBeGreaterThan(writes);
    } else {
      // In the recorder's buffer in this turn: nothing to wait for.
      expect(pending).toBeUndefined();
    }
    await s.close('done');
    const events = await e.events(s.id);
    expect(events[1]).toMatchObject({
      type: 'policy.denied',
      code: 'GH1201W',
      requestId: id,
      payload: { effect: 'deny', code: 'postgres.unparsed', reasons: ['unparsedStatements'], message: 'could not parse', operation: 'POST /unparsed' },
    });
    expect(events[2]!.payload).toMatchObject({ denied: 1 });
    expect(await until(async () => ((await e.index.get(s.id))?.deniedCount === 1 ? true : undefined))).toBe(true);
  });

  it('rejects when the refusal cannot be recorded (strict)', async () => {
    const e = await start({ recordingMode: 'strict' });
    const s = await open(e);
    e.sink.failWith = 'EIO';
    await expect(s.refuse(op('POST'), 'postgres.function_call', 'no', s.newRequestId())).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
  });
});

describe('GatewayPipeline: session.recordOutcome', () => {
  const response = { status: 200, headers: {}, body: { size: 2 }, timings: { ttfbMs: 1, totalMs: 2, gatewayMs: 0 } };

  it.each(['strict', 'buffered'] as const)('%s: records what followed forwarding in this turn, after the request event', async (mode) => {
    const e = await start({ recordingMode: mode });
    const s = await open(e);
    const id = s.newRequestId();
    const admitted = s.admit(op('GET'), id, request('GET'));
    if (admitted instanceof Promise) await admitted;
    expect(s.recordOutcome('http.response', response, id)).toBeUndefined();
    await s.close('done');
    const events = await e.events(s.id);
    expect(types(events)).toEqual(['session.start', 'http.request', 'http.response', 'session.end']);
    expect(events[2]).toMatchObject({ requestId: id, payload: { status: 200 } });
  });

  it('never throws when the event cannot be stored: bytes already sent cannot be called back', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e);
    await s.close('done');
    expect(() => s.recordOutcome('http.response', response, s.newRequestId())).not.toThrow();
  });

  it('tells `failed` why, after the call returned (never inside it), so a connection can end', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e);
    await s.close('done');
    const failures: string[] = [];
    s.recordOutcome('pg.result', { ms: 1 }, undefined, (err) => failures.push(err.code));
    expect(failures).toEqual([]);
    await Promise.resolve();
    expect(failures).toEqual(['GH_ERR_RECORDING_CLOSED']);
  });
});

describe('GatewayPipeline: identity, drain and close', () => {
  it('refuses a bad token and records the failure as a session of its own', async () => {
    const e = await start();
    await expect(e.pipeline.authenticate('not-a-jwt', { address: '127.0.0.1' }, 'http', 'conn')).rejects.toMatchObject({ code: 'GH_ERR_TOKEN_MALFORMED' });
    await expect(e.pipeline.authenticate(undefined, { address: '127.0.0.1' }, 'http', 'conn')).rejects.toMatchObject({ code: 'GH_ERR_TOKEN_MISSING' });
    const failed = await until(async () => {
      const rows = await e.index.list({ status: 'auth_failed' });
      return rows.length === 2 ? rows : undefined;
    });
    const events = await e.events(failed[0]!.id);
    expect(types(events)).toEqual(['session.start', 'auth.failure', 'session.end']);
    expect(events[1]!.code).toBe('GH1100W');
  });

  it('says why it refuses new work: the recording failure while the log store fails, shutting down once draining', async () => {
    const e = await start({ recordingMode: 'strict' });
    const s = await open(e);
    expect(e.pipeline.notAccepting()).toBeUndefined();
    e.sink.failWith = 'ENOSPC';
    await expect(s.admit(op('GET'), s.newRequestId(), request('GET'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    // Whichever write failed first (this request's, or an earlier timer flush), the next client is
    // told the real reason, not that the gateway is going away.
    expect(e.pipeline.accepting()).toBe(false);
    expect(e.pipeline.notAccepting()).toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    e.pipeline.drain();
    expect(e.pipeline.notAccepting()).toMatchObject({ code: 'GH_ERR_SHUTTING_DOWN' });
    e.sink.failWith = undefined;
    await e.pipeline.closeAll('shutdown').catch(() => undefined);
  });

  it('after drain no session opens; closeAll seals every open one', async () => {
    const e = await start();
    const a = await open(e);
    const b = await open(e);
    expect(e.pipeline.openSessions()).toBe(2);
    e.pipeline.drain();
    expect(e.pipeline.accepting()).toBe(false);
    await expect(open(e)).rejects.toMatchObject({ code: 'GH_ERR_SHUTTING_DOWN' });
    await e.pipeline.closeAll('shutdown');
    expect(e.pipeline.openSessions()).toBe(0);
    for (const s of [a, b]) {
      expect(s.closed).toBe(true);
      const events = await e.events(s.id);
      expect(events.at(-1)).toMatchObject({ type: 'session.end', payload: { reason: 'shutdown' } });
    }
  });
});

describe('GatewayPipeline: the search index', () => {
  it.each(['buffered', 'strict'] as const)('%s: each stored event gets an index row under its recorded seq, with its decision and text', async (recordingMode) => {
    const e = await start({ recordingMode });
    const s = await e.pipeline.openSession(await e.principal(['developers']), e.connection, 'http', { address: '127.0.0.1', clientSessionId: 'cc-session-1' });
    const allowed = s.newRequestId();
    await s.admit(op('GET'), allowed, request('GET'));
    const denied = s.newRequestId();
    await s.admit(op('DELETE', '/items/7'), denied, request('DELETE'));
    await s.close('done');
    const recorded = (await e.events(s.id)).filter((x) => x.type !== 'session.start' && x.type !== 'session.end');
    await e.index.flush();
    const rows = await e.index.store.query<{ seq: number; type: string; decisions: number; request_id: string }>(
      'select seq, type, decisions, request_id from gatehouse_session_events where session_id = $1 order by seq',
      [s.id],
    );
    expect(rows.rows.map((r) => [Number(r.seq), r.type, r.request_id])).toEqual(recorded.map((x) => [x.seq, x.type, x.requestId]));
    expect(rows.rows.map((r) => Number(r.decisions))).toEqual([1, 2]);
    const row = await until(async () => {
      const r = await e.index.get(s.id);
      return r?.status === 'closed' ? r : undefined;
    });
    expect(row).toMatchObject({ clientSessionId: 'cc-session-1', decisions: ['allowed', 'denied'] });
  });

  it('does not index an event the recorder refused', async () => {
    const e = await start({ recordingMode: 'buffered' });
    const s = await open(e);
    await s.close('done');
    s.recordOutcome('http.response', { status: 200, headers: {}, body: { size: 0 }, timings: { ttfbMs: 1, totalMs: 1, gatewayMs: 0 } }, s.newRequestId());
    await e.index.flush();
    const rows = await e.index.store.query('select seq from gatehouse_session_events where session_id = $1', [s.id]);
    expect(rows.rows).toEqual([]);
  });
});
