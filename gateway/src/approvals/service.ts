import { GatehouseError, isGatehouseError } from '../errors';
import type { Principal } from '../identity/principal';
import { newId } from '../ids';
import type { GatewaySession } from '../pipeline/types';
import { DECISION_CODES, type Decision, type DecisionCode, type Operation } from '../policy/decision';
import type { EventType, PayloadOf } from '../recording/event-catalog';
import type { StateLogger } from '../state/store';
import type { ApprovalListener } from './listener';
import { approvalLink } from './notifiers/messages';
import type { ApprovalNotifier } from './notifiers/webhook';
import { MAX_APPROVAL_LIST, type ApprovalStore, type ListApprovalsFilter } from './store';
import type { Approval, Verdict } from './types';
import { PendingApprovalsWatch, type PendingApprovalsListener } from './watch';

/**
 * Just-in-time approval of operations policy marked `review`: creates the request, records
 * `approval.requested`, notifies, waits until an approver decides or it expires, records the
 * outcome with who/why/when, and returns an allow or deny decision.
 *
 * Waiting is cheap: a waiter sleeps until it is woken (a decision made through this replica, or
 * a NOTIFY from another one through the listener), its expiry timer fires, or the replica's one
 * safety poll (PendingApprovalsWatch, shared with the console's live pages) no longer finds its
 * approval pending (which also covers PGlite and notifications missed during a reconnect).
 * Everything fails closed: an unreachable store, a recording failure or a client that went away
 * never turns into an allow.
 */
/** Records one approval event of the operation's request (durable in strict mode). */
type RecordApproval = <T extends Extract<EventType, `approval.${string}`>>(type: T, payload: PayloadOf<T>) => Promise<void>;

export interface ApprovalServiceOptions {
  readonly store: ApprovalStore;
  readonly approverGroups: readonly string[];
  readonly timeoutSeconds: number;
  readonly minApprovals: number;
  /** The safety poll of the pending approvals while anyone waits or watches (one read per replica). @default 2000 */
  readonly pollIntervalMs?: number;
  readonly consoleUrl?: string;
  readonly notifiers?: readonly ApprovalNotifier[];
  readonly logger: StateLogger;
  /** Names the replica holding an operation. */
  readonly instanceId?: string;
  /** Recording mode: approval events are durable in strict mode. @default 'strict' */
  readonly recordingMode?: 'strict' | 'buffered';
  /** Injected for tests (expiry without sleeping). @default () => new Date() */
  readonly clock?: () => Date;
  /** Starts the cross-replica listener; it calls `changed(id)` / `resync()` on this service. */
  readonly listen?: (handlers: { changed(id: string): void; resync(): void }) => ApprovalListener;
}

/** setTimeout's longest delay (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type ApprovalOutcome = 'granted' | 'denied' | 'expired' | 'cancelled' | 'unavailable';

interface Waiter {
  wake(): void;
}

export class ApprovalService {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly approverGroups: ReadonlySet<string>;
  private readonly clock: () => Date;
  private readonly pollMs: number;
  private listener: ApprovalListener | undefined;
  /** The one poll of pending approvals on this replica: waiters and console streams share it. */
  private readonly watch: PendingApprovalsWatch;
  private unwatchWaiters: (() => void) | undefined;
  private readonly shutdown = new AbortController();
  private closed = false;

  constructor(private readonly options: ApprovalServiceOptions) {
    if (options.approverGroups.length === 0) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'approvals need at least one approver group');
    this.approverGroups = new Set(options.approverGroups);
    this.clock = options.clock ?? (() => new Date());
    this.pollMs = options.pollIntervalMs ?? 2000;
    this.watch = new PendingApprovalsWatch({ read: () => this.list({ status: 'pending', limit: MAX_APPROVAL_LIST }), intervalMs: this.pollMs, logger: options.logger });
  }

  /** Applies the schema and starts listening for decisions made on other replicas. */
  async init(): Promise<void> {
    await this.options.store.init();
    this.listener ??= this.options.listen?.({ changed: (id) => this.wake(id), resync: () => this.wakeAll() });
  }

  /** Stops waiting: every operation still waiting here is cancelled (and recorded), then the listener closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.shutdown.abort();
    this.wakeAll();
    this.watch.close();
    await this.listener?.close();
  }

  /** The pipeline's ReviewHandler. */
  readonly review = (session: GatewaySession, operation: Operation, requestId: string, decision: Decision, signal?: AbortSignal, principal?: Principal): Promise<Decision> =>
    this.request(session, operation, requestId, decision, signal, principal ?? session.principal);

  /** True when the principal may decide (is in an approver group). */
  isApprover(principal: Pick<Principal, 'groups'>): boolean {
    return principal.groups.some((g) => this.approverGroups.has(g));
  }

  async list(filter: ListApprovalsFilter = {}): Promise<Approval[]> {
    // Expiry holds even when no replica waits: overdue requests read as expired.
    await this.options.store.expireOverdue(this.clock());
    return this.options.store.list(filter);
  }

  async get(id: string): Promise<Approval> {
    let a = await this.options.store.get(id);
    if (a !== undefined && a.status === 'pending' && this.clock().getTime() >= a.expiresAt.getTime()) {
      a = await this.options.store.finish(id, 'expired', this.clock(), 'no decision before the approval expired');
    }
    if (a === undefined) throw new GatehouseError('GH_ERR_NOT_FOUND', `no approval with id ${id}`);
    return a;
  }

  /**
   * An approver's verdict. The decider is a verified principal; it must be in an approver group
   * and must not be the requester. Throws GH_ERR_APPROVAL_NOT_APPROVER, GH_ERR_APPROVAL_SELF,
   * GH_ERR_APPROVAL_VOTED, GH_ERR_APPROVAL_CLOSED or GH_ERR_NOT_FOUND.
   */
  async decide(id: string, decider: Principal, verdict: Verdict, reason: string | null): Promise<Approval> {
    if (!this.isApprover(decider)) {
      throw new GatehouseError('GH_ERR_APPROVAL_NOT_APPROVER', 'only members of an approver group may approve or deny', { details: { subject: decider.subject } });
    }
    const result = await this.options.store.decide({ id, decider: { subject: decider.subject, issuer: decider.issuer, name: decider.name }, verdict, reason, now: this.clock() });
    this.options.logger.info({ approvalId: id, verdict, status: result.status, subject: decider.subject }, 'approval vote');
    this.wake(id); // a waiter on this replica needs no round trip through NOTIFY
    return result;
  }

  /**
   * Calls `listener` with the pending approvals at every read of this replica's one poll (and at
   * once with the newest read, if the poll is running); returns the unsubscribe function. Any
   * number of watchers cost one read per interval, brought forward when a change is signalled.
   */
  watchPending(listener: PendingApprovalsListener): () => void {
    return this.watch.subscribe(listener);
  }

  /** Wakes the waiters of one approval (a NOTIFY arrived, or a decision was made here). */
  wake(id: string): void {
    for (const w of this.waiters.get(id) ?? []) w.wake();
    this.watch.poke();
  }

  wakeAll(): void {
    for (const set of this.waiters.values()) for (const w of set) w.wake();
    this.watch.poke();
  }

  /** Operations waiting on this replica. */
  waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  private async request(session: GatewaySession, operation: Operation, requestId: string, decision: Decision, signal: AbortSignal | undefined, p: Principal): Promise<Decision> {
    const durable = (this.options.recordingMode ?? 'strict') === 'strict';
    const record: RecordApproval = (type, payload) => session.record(type, payload, { requestId, durable });
    const now = this.clock();
    const id = newId('ap', now.getTime());
    const summary = operation.summary.length > 500 ? `${operation.summary.slice(0, 500)}…` : operation.summary;

    // What the approver sees of the operation; recorded below with approval.requested, so it is in
    // the record whatever the outcome. A protocol's failure to build it fails closed (no approval).
    let details: Record<string, unknown> | null = null;
    let attributes: Readonly<Record<string, unknown>> = operation.attributes;
    try {
      details = operation.details?.() ?? null;
      if (details !== null && typeof details.attributes === 'object' && details.attributes !== null) {
        const { attributes: shown, ...rest } = details;
        attributes = shown as Record<string, unknown>;
        details = rest;
      }
    } catch {
      return this.refuse(record, operation, decision, null, 'the request could not be shown to an approver');
    }
    if (this.closed) return this.refuse(record, operation, decision, null, 'the gateway is shutting down');
    const retry = operation.retryApproval;
    if (retry !== undefined) {
      // Refuse-and-retry: a grant of this very operation (any replica's) lets it through once.
      let taken: Awaited<ReturnType<ApprovalStore['takeRetry']>>;
      try {
        taken = await this.options.store.takeRetry(retry.key, p, now, new Date(now.getTime() - retry.withinSeconds * 1000));
      } catch (e) {
        this.options.logger.error({ code: isGatehouseError(e) ? e.code : 'error', sessionId: session.id, requestId }, 'could not read approvals for a retried operation');
        return this.refuse(record, operation, decision, null, 'the approvals store is unreachable');
      }
      if (taken !== undefined && 'granted' in taken) return this.conclude(record, operation, decision, taken.granted);
      if (taken !== undefined) return this.required(decision, taken.pending.id);
    }
    let approval: Approval;
    try {
      approval = await this.options.store.create({
        id,
        sessionId: session.id,
        requestId,
        connection: session.connection.name,
        protocol: operation.protocol,
        action: operation.action,
        summary,
        attributes,
        details,
        requester: { subject: p.subject, issuer: p.issuer, name: p.name, groups: p.groups },
        reasons: decision.reasons,
        minApprovals: this.options.minApprovals,
        createdAt: now,
        expiresAt: new Date(now.getTime() + this.options.timeoutSeconds * 1000),
        instanceId: this.options.instanceId ?? null,
        retryKey: retry?.key ?? null,
      });
    } catch (e) {
      // Fail closed: no approval can be asked for, so the operation does not go through.
      this.options.logger.error({ code: isGatehouseError(e) ? e.code : 'error', sessionId: session.id, requestId }, 'could not create an approval request');
      return this.refuse(record, operation, decision, null, 'the approvals store is unreachable');
    }

    const link = approvalLink(this.options.consoleUrl, id);
    try {
      await record('approval.requested', {
        approvalId: id,
        operation: summary,
        action: operation.action,
        reasons: decision.reasons,
        minApprovals: approval.minApprovals,
        approverGroups: [...this.approverGroups],
        expiresAt: approval.expiresAt.toISOString(),
        link,
        ...(details === null ? {} : { request: details }),
      });
    } catch (e) {
      // An approval nobody can find in the record must not be granted: withdraw it, then fail.
      await this.options.store.finish(id, 'cancelled', this.clock(), 'the request could not be recorded').catch(() => undefined);
      throw e;
    }
    this.watch.poke(); // the console's live pages show the new request without waiting for the poll
    for (const n of this.options.notifiers ?? []) {
      // Never awaited: a slow or broken notifier must not hold the operation or the decision.
      n.notify(approval).catch(() => undefined);
    }

    // Nobody waits: the client is told which approval to get, then retries the same operation.
    if (retry !== undefined) return this.required(decision, id);
    const final = await this.wait(approval, session, signal);
    return this.conclude(record, operation, decision, final);
  }

  /** Waits until the approval leaves `pending`; returns it, or the reason it could not be read. */
  private async wait(approval: Approval, session: GatewaySession, signal?: AbortSignal): Promise<Approval | { unavailable: true; expired: boolean }> {
    const { id } = approval;
    let wake!: () => void;
    let woken = false;
    const waiter: Waiter = {
      wake: () => {
        woken = true;
        wake?.();
      },
    };
    let set = this.waiters.get(id);
    if (set === undefined) this.waiters.set(id, (set = new Set()));
    set.add(waiter);
    // The replica's one poll wakes a waiter whose approval is no longer pending; no poll of its own.
    this.unwatchWaiters ??= this.watch.subscribe((pending) => this.wakeDecided(pending));
    const onAbort = () => waiter.wake();
    signal?.addEventListener('abort', onAbort);
    try {
      let failures = 0;
      for (;;) {
        if (signal?.aborted || session.closed || this.shutdown.signal.aborted) {
          const why = this.shutdown.signal.aborted ? 'the gateway shut down while the operation waited' : 'the client went away while the operation waited';
          const r = await this.options.store.finish(id, 'cancelled', this.clock(), why).catch(() => undefined);
          // A decision that committed first stands (and is what gets recorded); the protocol still
          // checks its client before running a granted operation.
          return r ?? { ...approval, status: 'cancelled', reason: why, decidedAt: this.clock() };
        }
        woken = false;
        const now = this.clock();
        try {
          let current = await this.options.store.get(id);
          if (current === undefined) throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `approval ${id} vanished from the state store`);
          if (current.status === 'pending' && now.getTime() >= current.expiresAt.getTime()) {
            current = (await this.options.store.finish(id, 'expired', now, 'no decision before the approval expired')) ?? current;
          }
          if (current.status !== 'pending') return current;
          failures = 0;
        } catch (e) {
          failures++;
          this.options.logger.warn({ approvalId: id, code: isGatehouseError(e) ? e.code : 'error', failures }, 'approval state could not be read; retrying');
          // Fail closed: past its expiry an approval we cannot read is not granted.
          if (now.getTime() >= approval.expiresAt.getTime()) return { unavailable: true, expired: true };
        }
        if (woken) continue;
        const untilExpiry = approval.expiresAt.getTime() - this.clock().getTime();
        // Asleep until woken or expired; after a failed read, retried at the poll's interval.
        const sleep = Math.min(failures > 0 ? this.pollMs : MAX_TIMER_MS, untilExpiry + 5);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.max(0, sleep));
          function done() {
            clearTimeout(timer);
            wake = () => undefined;
            resolve();
          }
          wake = done;
          if (woken) done();
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      set.delete(waiter);
      if (set.size === 0) this.waiters.delete(id);
      if (this.waiters.size === 0) {
        this.unwatchWaiters?.();
        this.unwatchWaiters = undefined;
      }
    }
  }

  /** Wakes the waiters whose approval the poll did not find pending (decided, expired, or beyond the list's bound). */
  private wakeDecided(pending: readonly Approval[]): void {
    const open = new Set(pending.map((a) => a.id));
    for (const [id, set] of this.waiters) if (!open.has(id)) for (const w of set) w.wake();
  }

  private async conclude(record: RecordApproval, operation: Operation, decision: Decision, final: Approval | { unavailable: true; expired: boolean }): Promise<Decision> {
    if ('unavailable' in final) {
      return this.refuse(record, operation, decision, null, 'the approvals store became unreachable while the operation waited');
    }
    const votes = final.votes.map((v) => ({ subject: v.subject, name: v.name, issuer: v.issuer, verdict: v.verdict, reason: v.reason, at: v.at.toISOString() }));
    const base = { approvalId: final.id, decidedAt: final.decidedAt?.toISOString() ?? this.clock().toISOString(), reason: final.reason };
    switch (final.status) {
      case 'granted': {
        const approvers = votes.filter((v) => v.verdict === 'approve');
        await record('approval.granted', { ...base, by: approvers.map((v) => v.subject), approvers });
        const names = approvers.map((v) => v.name).join(', ');
        return { effect: 'allow', code: DECISION_CODES.approvalGranted, reasons: [...decision.reasons, `approval:${final.id}`], message: `"${operation.summary}" was approved by ${names} (approval ${final.id})` };
      }
      case 'denied': {
        const denier = votes.find((v) => v.verdict === 'deny');
        await record('approval.denied', { ...base, by: denier?.subject ?? null, name: denier?.name ?? null, votes });
        const why = final.reason ? `: ${final.reason}` : '';
        return this.denial(decision, final.id, DECISION_CODES.approvalDenied, `"${operation.summary}" was denied by ${denier?.name ?? 'an approver'}${why} (approval ${final.id})`);
      }
      case 'expired':
        await record('approval.expired', { ...base, expiresAt: final.expiresAt.toISOString(), votes });
        return this.denial(decision, final.id, DECISION_CODES.approvalExpired, `no approver decided on "${operation.summary}" in time (approval ${final.id} expired at ${final.expiresAt.toISOString()})`);
      case 'cancelled':
      default:
        await record('approval.cancelled', { ...base, votes });
        return this.denial(decision, final.id, DECISION_CODES.approvalCancelled, `the approval of "${operation.summary}" was cancelled: ${final.reason ?? 'no reason given'} (approval ${final.id})`);
    }
  }

  private async refuse(record: RecordApproval, operation: Operation, decision: Decision, id: string | null, why: string): Promise<Decision> {
    // Recorded as a denial by the gateway itself (no approver): the operation needed approval and could not get it.
    await record('approval.denied', { approvalId: id, by: null, code: DECISION_CODES.approvalUnavailable, reason: why, decidedAt: this.clock().toISOString() });
    return this.denial(decision, id, DECISION_CODES.approvalUnavailable, `"${operation.summary}" needs approval, but ${why}`);
  }

  /** The refusal of a refuse-and-retry operation: names the approval (and its console link) to ask an approver for. */
  private required(decision: Decision, id: string): Decision {
    const link = approvalLink(this.options.consoleUrl, id);
    return this.denial(decision, id, DECISION_CODES.approvalRequired, `approval required: ${id}${link === null ? '' : ` ${link}`}`);
  }

  private denial(decision: Decision, id: string | null, code: DecisionCode, message: string): Decision {
    return { effect: 'deny', code, reasons: id === null ? decision.reasons : [...decision.reasons, `approval:${id}`], message };
  }
}
