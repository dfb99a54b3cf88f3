import type { ConnectionConfig } from '../../../gateway/src/config/schema';
import { isGatehouseError } from '../../../gateway/src/errors';
import type { Principal } from '../../../gateway/src/identity/principal';
import { ApprovalService } from '../../../gateway/src/approvals/service';
import { ApprovalStore } from '../../../gateway/src/approvals/store';
import { startPgApprovalListener } from '../../../gateway/src/approvals/listener';
import type { Decision, Operation } from '../../../gateway/src/policy/decision';
import { createStateStore, type StateStore } from '../../../gateway/src/state/store';
import { silentLogger } from '../../../gateway/src/observability/logger';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import type { AuditEvent } from '../../../gateway/src/recording/events';
import type { GatewaySession } from '../../../gateway/src/pipeline/types';
import { testPrincipal } from '../../support/principals';
import { startPipelineWorld, startRealPipeline, type PipelineWorld, type RealPipeline } from '../../support/real-pipeline';

/**
 * The approval store and service on both drivers: the embedded PGlite and a real PostgreSQL 15.
 * Expiry uses an injected clock, never a sleep of the timeout. Reviews run in sessions of the real
 * GatewayPipeline (one per file, strict recording, the recorder's timer flush held back), so an
 * approval event in the log store before any flush is one the service recorded durably.
 */
const connection = { name: 'api', kind: 'http', upstream: 'http://127.0.0.1:1', route: { pathPrefix: '/api', stripPrefix: true } } as unknown as ConnectionConfig;
const operation: Operation = { protocol: 'http', action: 'http:DELETE', attributes: { method: 'DELETE', path: '/users/7' }, summary: 'DELETE /users/7' };
const review: Decision = { effect: 'review', code: 'policy.review', reasons: ['policy0'], message: 'needs review' };

const ada = testPrincipal('ada', { groups: ['developers'] });
const grace = testPrincipal('grace', { groups: ['approvers'], name: 'Grace Hopper' });
const linus = testPrincipal('linus', { groups: ['approvers'] });
const mallory = testPrincipal('mallory', { groups: ['developers'] });
const adaApprover = testPrincipal('ada', { groups: ['developers', 'approvers'] });

let world: PipelineWorld;
let env: RealPipeline;
beforeAll(async () => {
  world = await startPipelineWorld();
  env = await startRealPipeline({ world, policy: 'permit (principal, action, resource);', recordingMode: 'strict', recorder: { flushIntervalMs: 600_000 } });
}, 60_000);
afterAll(async () => {
  await env?.close();
  await world?.close();
});

/** A session of the real pipeline, and what it recorded (flushed and read back from the log store). */
async function openSession(principal: Principal = ada): Promise<{ session: GatewaySession; eventsOf: (type: string) => Promise<AuditEvent[]> }> {
  const session = await env.pipeline.openSession(principal, connection, 'http', { address: '127.0.0.1' });
  return { session, eventsOf: async (type) => (await env.events(session.id)).filter((e) => e.type === type) };
}

/** Polls the log store, without flushing the recorder, until the session's `approval.requested` is there: stored durably. */
async function durablyRequested(session: GatewaySession): Promise<AuditEvent> {
  for (let i = 0; ; i++) {
    const e = (await env.storedEvents()).find((x) => x.session === session.id && x.type === 'approval.requested');
    if (e !== undefined) return e;
    if (i > 500) throw new Error('approval.requested was not stored durably');
    await new Promise((r) => setTimeout(r, 10));
  }
}

class Clock {
  t = new Date('2026-03-01T12:00:00Z').getTime();
  now = () => new Date(this.t);
  advance(seconds: number) {
    this.t += seconds * 1000;
  }
}

// One database per backend (PGlite takes seconds to start); each test starts from empty tables.
const backends: Array<[string, () => Promise<{ state: StateStore; stop(): Promise<void> }>]> = [
  ['embedded PGlite', async () => ({ state: createStateStore({ embeddedPath: 'memory://' }), stop: async () => undefined })],
  [
    'PostgreSQL 15',
    async () => {
      const server: TestPostgres = await startPostgres();
      return { state: createStateStore({ url: server.url, embeddedPath: 'unused' }), stop: () => server.stop() };
    },
  ],
];

async function expectCode(p: Promise<unknown>, code: string): Promise<Record<string, unknown> | undefined> {
  try {
    await p;
  } catch (e) {
    if (!isGatehouseError(e)) throw e;
    expect(e.code).toBe(code);
    return e.details;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

describe.each(backends)('approvals on %s', (_name, makeBackend) => {
  let backend: Awaited<ReturnType<typeof makeBackend>>;
  let state: StateStore;
  let store: ApprovalStore;
  let clock: Clock;
  const services: ApprovalService[] = [];

  beforeAll(async () => {
    backend = await makeBackend();
    state = backend.state;
  }, 60_000);
  afterAll(async () => {
    await state.close();
    await backend.stop();
  });
  beforeEach(async () => {
    store = new ApprovalStore(state);
    await store.init();
    await state.query('delete from gatehouse_approval_votes');
    await state.query('delete from gatehouse_approvals');
    clock = new Clock();
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  const service = (over: Partial<ConstructorParameters<typeof ApprovalService>[0]> = {}) => {
    const s = new ApprovalService({ store, approverGroups: ['approvers'], timeoutSeconds: 300, minApprovals: 1, pollIntervalMs: 20, logger: silentLogger(), clock: clock.now, instanceId: 'replica-a', ...over });
    services.push(s);
    return s;
  };

  /**
   * Starts a review and resolves the approval id once `approval.requested` is recorded and the
   * operation waits. The event can be in the log store a few ticks before the service's write
   * resolves and it starts waiting, so waiting is its own condition (asserting it right after the
   * event appeared failed once in CI).
   */
  const startReview = async (svc: ApprovalService, principal: Principal = ada, signal?: AbortSignal) => {
    const { session, eventsOf } = await openSession(principal);
    const before = svc.waiting();
    const decision = svc.review(session, operation, 'r-1', review, signal);
    const requested = await durablyRequested(session);
    for (let i = 0; svc.waiting() === before; i++) {
      if (i > 500) throw new Error('the review never started waiting');
      await new Promise((r) => setTimeout(r, 5));
    }
    return { eventsOf, session, decision, id: requested.payload.approvalId as string };
  };

  test('a review waits until an approver grants it; the record holds who, why and when', async () => {
    const svc = service();
    await svc.init();
    const { eventsOf, decision, id } = await startReview(svc);
    expect(svc.waiting()).toBe(1);
    expect((await svc.get(id)).status).toBe('pending');

    const granted = await svc.decide(id, grace, 'approve', 'checked the ticket');
    expect(granted.status).toBe('granted');
    const d = await decision;
    expect(d).toMatchObject({ effect: 'allow', code: 'approval.granted' });
    expect(d.reasons).toEqual(['policy0', `approval:${id}`]);

    const requested = (await eventsOf('approval.requested'))[0]!;
    expect(requested).toMatchObject({ requestId: 'r-1', payload: { approvalId: id, operation: 'DELETE /users/7', action: 'http:DELETE', approverGroups: ['approvers'], minApprovals: 1 } });
    expect(requested.payload.expiresAt).toBe(new Date(clock.t + 300_000).toISOString());
    const event = (await eventsOf('approval.granted'))[0]!;
    expect(event.payload).toMatchObject({ approvalId: id, by: ['grace'], reason: 'checked the ticket', decidedAt: clock.now().toISOString() });
    expect(event.payload.approvers).toEqual([expect.objectContaining({ subject: 'grace', name: 'Grace Hopper', verdict: 'approve', reason: 'checked the ticket' })]);
    expect(svc.waiting()).toBe(0);
  });

  test('a denial decides at once and answers with the denier and reason', async () => {
    const svc = service({ minApprovals: 2 });
    await svc.init();
    const { eventsOf, decision, id } = await startReview(svc);
    await svc.decide(id, linus, 'deny', 'not during the freeze');
    const d = await decision;
    expect(d).toMatchObject({ effect: 'deny', code: 'approval.denied' });
    expect(d.message).toContain('not during the freeze');
    expect((await eventsOf('approval.denied'))[0]!.payload).toMatchObject({ approvalId: id, by: 'linus', reason: 'not during the freeze' });
  });

  test('nobody approves their own request, even as an approver', async () => {
    const svc = service();
    await svc.init();
    const { decision, id } = await startReview(svc, adaApprover);
    await expectCode(svc.decide(id, adaApprover, 'approve', 'me'), 'GH_ERR_APPROVAL_SELF');
    // A requester with another issuer but the same subject is still refused (fail closed).
    await expectCode(svc.decide(id, { ...adaApprover, issuer: 'https://other.test' }, 'approve', null), 'GH_ERR_APPROVAL_SELF');
    expect((await svc.get(id)).status).toBe('pending');
    await svc.decide(id, grace, 'approve', null);
    expect((await decision).effect).toBe('allow');
  });

  test('only members of an approver group may decide', async () => {
    const svc = service();
    await svc.init();
    const { decision, id } = await startReview(svc);
    await expectCode(svc.decide(id, mallory, 'approve', 'lgtm'), 'GH_ERR_APPROVAL_NOT_APPROVER');
    expect((await svc.get(id)).votes).toEqual([]);
    await svc.decide(id, grace, 'deny', null);
    expect((await decision).effect).toBe('deny');
  });

  test('minApprovals counts distinct approvers; a second vote by the same one is refused', async () => {
    const svc = service({ minApprovals: 2 });
    await svc.init();
    const { eventsOf, decision, id } = await startReview(svc);
    const first = await svc.decide(id, grace, 'approve', 'one');
    expect(first.status).toBe('pending');
    expect(first.votes).toHaveLength(1);
    await expectCode(svc.decide(id, grace, 'approve', 'again'), 'GH_ERR_APPROVAL_VOTED');
    expect((await svc.get(id)).status).toBe('pending');
    const second = await svc.decide(id, linus, 'approve', 'two');
    expect(second.status).toBe('granted');
    expect((await decision).effect).toBe('allow');
    expect((await eventsOf('approval.granted'))[0]!.payload.by).toEqual(['grace', 'linus']);
  });

  test('two approvers racing: exactly one decision wins, the other gets GH_ERR_APPROVAL_CLOSED', async () => {
    const svc = service();
    await svc.init();
    const { decision, id } = await startReview(svc);
    const results = await Promise.allSettled([svc.decide(id, grace, 'approve', 'a'), svc.decide(id, linus, 'deny', 'b')]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toMatchObject({ code: 'GH_ERR_APPROVAL_CLOSED', status: 409 });
    const winner = (ok[0] as PromiseFulfilledResult<{ status: string }>).value.status;
    expect((await decision).effect).toBe(winner === 'granted' ? 'allow' : 'deny');
    expect((await svc.get(id)).votes).toHaveLength(1);
  });

  test('expiry (injected clock) denies the waiting operation and a later decision is refused', async () => {
    const svc = service({ timeoutSeconds: 60 });
    await svc.init();
    const { eventsOf, decision, id } = await startReview(svc);
    clock.advance(61);
    const d = await decision;
    expect(d).toMatchObject({ effect: 'deny', code: 'approval.expired' });
    expect((await eventsOf('approval.expired'))[0]!.payload).toMatchObject({ approvalId: id });
    const details = await expectCode(svc.decide(id, grace, 'approve', 'too late'), 'GH_ERR_APPROVAL_CLOSED');
    expect(details).toMatchObject({ status: 'expired' });
  });

  test('expiry holds with nobody watching: a late decision marks it expired and is refused', async () => {
    const svc = service({ timeoutSeconds: 60 });
    const { session } = await openSession();
    await store.create({
      id: 'ap_orphan',
      sessionId: session.id,
      requestId: 'r-9',
      connection: 'api',
      protocol: 'http',
      action: 'http:DELETE',
      summary: 'DELETE /x',
      attributes: {},
      requester: { subject: 'ada', issuer: ada.issuer, name: ada.name, groups: ada.groups },
      reasons: [],
      minApprovals: 1,
      createdAt: clock.now(),
      expiresAt: new Date(clock.t + 60_000),
      instanceId: 'gone',
    });
    await store.create({ ...(await store.get('ap_orphan'))!, id: 'ap_orphan2' });
    clock.advance(120);
    await expectCode(svc.decide('ap_orphan', grace, 'approve', null), 'GH_ERR_APPROVAL_CLOSED');
    expect((await store.get('ap_orphan'))!.status).toBe('expired');
    // Listing marks the rest overdue too.
    const listed = await svc.list({ status: 'pending' });
    expect(listed).toEqual([]);
    expect((await store.get('ap_orphan2'))!.status).toBe('expired');
  });

  test('a client that goes away cancels the pending approval, recorded', async () => {
    const svc = service();
    await svc.init();
    const abort = new AbortController();
    const { eventsOf, decision, id } = await startReview(svc, ada, abort.signal);
    abort.abort();
    const d = await decision;
    expect(d).toMatchObject({ effect: 'deny', code: 'approval.cancelled' });
    expect((await svc.get(id)).status).toBe('cancelled');
    expect((await eventsOf('approval.cancelled'))[0]!.payload).toMatchObject({ approvalId: id, reason: expect.stringContaining('client went away') });
    await expectCode(svc.decide(id, grace, 'approve', null), 'GH_ERR_APPROVAL_CLOSED');
  });

  test('an unreachable store fails closed: denied and recorded', async () => {
    const closed = createStateStore({ url: 'postgres://127.0.0.1:1/none', embeddedPath: 'unused' });
    await closed.close();
    const svc = service({ store: new ApprovalStore(closed) });
    const { eventsOf, session } = await openSession();
    const d = await svc.review(session, operation, 'r-1', review);
    expect(d).toMatchObject({ effect: 'deny', code: 'approval.unavailable' });
    expect((await eventsOf('approval.denied'))[0]!.payload).toMatchObject({ approvalId: null, code: 'approval.unavailable', by: null });
  });

  test('a request that cannot be recorded is withdrawn and the review throws', async () => {
    const svc = service();
    await svc.init();
    const { session } = await openSession();
    // The log store fails (a full disk): the durable approval.requested cannot be stored.
    env.sink.failWith = 'ENOSPC';
    try {
      await expect(svc.review(session, operation, 'r-1', review)).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
    } finally {
      env.sink.failWith = undefined;
    }
    const [a] = await store.list();
    expect(a!.status).toBe('cancelled');
  });

  test('waiting operations share the replica\'s one poll: none reads the store on its own, and the poll releases them', async () => {
    let gets = 0;
    let lists = 0;
    const counting = new (class extends ApprovalStore {
      override get(id: string) {
        gets++;
        return super.get(id);
      }
      override list(filter?: Parameters<ApprovalStore['list']>[0]) {
        lists++;
        return super.list(filter);
      }
    })(state);
    const svc = service({ store: counting });
    await svc.init();
    const reviews = [await startReview(svc), await startReview(svc), await startReview(svc)];
    const polls = async (n: number) => {
      const target = lists + n;
      for (let i = 0; lists < target; i++) {
        if (i > 500) throw new Error('the poll stopped');
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await polls(2); // settled: every approval is in the poll's reads
    const before = gets;
    await polls(5);
    expect(gets).toBe(before);
    // Decided through another replica whose NOTIFY this one does not hear: the poll releases the waiter.
    await service({ store: new ApprovalStore(state) }).decide(reviews[0]!.id, grace, 'approve', null);
    expect((await reviews[0]!.decision).effect).toBe('allow');
    for (const r of reviews.slice(1)) await svc.decide(r.id, grace, 'deny', null);
    expect((await Promise.all(reviews.slice(1).map((r) => r.decision))).map((d) => d.effect)).toEqual(['deny', 'deny']);
  });

  test('shutting down cancels operations still waiting', async () => {
    const svc = service();
    await svc.init();
    const { decision, id } = await startReview(svc);
    await svc.close();
    expect(await decision).toMatchObject({ effect: 'deny', code: 'approval.cancelled' });
    expect((await store.get(id))!.reason).toContain('shut down');
  });
});

describe('across replicas on PostgreSQL 15', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => server.stop());

  test('a decision through replica B wakes the waiter on replica A through LISTEN/NOTIFY, not the poll', async () => {
    const url = await server.createDatabase('approvals_xr');
    const stateA = createStateStore({ url, embeddedPath: 'unused' });
    const stateB = createStateStore({ url, embeddedPath: 'unused' });
    const logger = silentLogger();
    // A poll of 10 minutes: only a notification can release the operation within the test.
    const make = (s: StateStore, instanceId: string) =>
      new ApprovalService({
        store: new ApprovalStore(s),
        approverGroups: ['approvers'],
        timeoutSeconds: 900,
        minApprovals: 1,
        pollIntervalMs: 600_000,
        logger,
        instanceId,
        listen: (handlers) => startPgApprovalListener({ url, logger, handlers }),
      });
    const a = make(stateA, 'a');
    const b = make(stateB, 'b');
    try {
      await Promise.all([a.init(), b.init()]);
      const { session, eventsOf } = await openSession(ada);
      const decision = a.review(session, operation, 'r-1', review);
      const id = (await durablyRequested(session)).payload.approvalId as string;
      // Give A's listener its connection (it LISTENs asynchronously after init).
      await new Promise((r) => setTimeout(r, 300));
      await b.decide(id, grace, 'approve', 'from the other replica');
      await expect(decision).resolves.toMatchObject({ effect: 'allow', code: 'approval.granted' });
      expect((await eventsOf('approval.granted'))[0]!.payload).toMatchObject({ by: ['grace'], reason: 'from the other replica' });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await Promise.all([stateA.close(), stateB.close()]);
    }
  }, 30_000);
});
