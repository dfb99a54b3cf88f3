import { GatehouseError } from '../errors';
import { runMigrations } from '../state/migrations';
import type { StateQueryable, StateStore } from '../state/store';
import { APPROVAL_CHANNEL, APPROVAL_MIGRATIONS } from './schema';
import type { Approval, ApprovalPerson, ApprovalStatus, ApprovalVote, NewApproval, Verdict } from './types';

/**
 * Approvals on the shared state store (PGlite or PostgreSQL). Every state change is one
 * transaction that locks the row and checks it is still pending, so two approvers racing, or a
 * decision racing the expiry, resolve to exactly one outcome: the first to commit wins and the
 * others get GH_ERR_APPROVAL_CLOSED. Each change also NOTIFYs the approval's id, which releases
 * the operation on whichever replica holds it.
 */
export interface DecideInput {
  readonly id: string;
  readonly decider: ApprovalPerson;
  readonly verdict: Verdict;
  readonly reason: string | null;
  readonly now: Date;
}

export interface ListApprovalsFilter {
  readonly status?: ApprovalStatus;
  /** @default 100 */
  readonly limit?: number;
}

export const MAX_APPROVAL_LIST = 500;

interface ApprovalRow {
  id: string;
  status: string;
  session_id: string;
  request_id: string;
  connection: string;
  protocol: string;
  action: string;
  summary: string;
  attributes: Record<string, unknown> | string | null;
  details?: Record<string, unknown> | string | null;
  requester_subject: string;
  requester_issuer: string;
  requester_name: string;
  requester_groups: string[] | null;
  reasons: string[] | null;
  min_approvals: number | string;
  created_at: Date | string;
  expires_at: Date | string;
  decided_at: Date | string | null;
  reason: string | null;
  instance_id: string | null;
  retry_key?: string | null;
  consumed_at?: Date | string | null;
}

interface VoteRow {
  approval_id: string;
  subject: string;
  issuer: string;
  name: string;
  verdict: string;
  reason: string | null;
  decided_at: Date | string;
}

/** A closed approval's refusal, raised after the transaction that may have marked it expired commits. */
type Outcome = { approval: Approval } | { closed: Approval } | { self: true } | { voted: Approval } | { missing: true };

export class ApprovalStore {
  private initializing: Promise<void> | undefined;

  constructor(readonly state: StateStore) {}

  /** Applies the `approvals` migrations; safe from many replicas at once. */
  init(): Promise<void> {
    this.initializing ??= (async () => {
      await runMigrations(this.state, 'approvals', APPROVAL_MIGRATIONS);
    })().catch((e: unknown) => {
      this.initializing = undefined; // a later call retries once the store is back
      throw e;
    });
    return this.initializing;
  }

  async create(a: NewApproval): Promise<Approval> {
    await this.init();
    await this.state.query(
      `insert into gatehouse_approvals (id, status, session_id, request_id, connection, protocol, action, summary, attributes,
         requester_subject, requester_issuer, requester_name, requester_groups, reasons, min_approvals, created_at, expires_at, instance_id, details, retry_key)
       values ($1, 'pending', $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12::text[], $13::text[], $14, $15::timestamptz, $16::timestamptz, $17, $18::jsonb, $19)`,
      [
        a.id,
        a.sessionId,
        a.requestId,
        a.connection,
        a.protocol,
        a.action,
        a.summary,
        JSON.stringify(a.attributes),
        a.requester.subject,
        a.requester.issuer,
        a.requester.name,
        [...a.requester.groups],
        [...a.reasons],
        a.minApprovals,
        a.createdAt.toISOString(),
        a.expiresAt.toISOString(),
        a.instanceId,
        a.details == null ? null : JSON.stringify(a.details),
        a.retryKey ?? null,
      ],
    );
    return { ...a, status: 'pending', decidedAt: null, reason: null, votes: [], retryKey: a.retryKey ?? null, consumedAt: null };
  }

  async get(id: string): Promise<Approval | undefined> {
    await this.init();
    return this.read(this.state, id, false);
  }

  async list(filter: ListApprovalsFilter = {}): Promise<Approval[]> {
    await this.init();
    const limit = Math.min(filter.limit ?? 100, MAX_APPROVAL_LIST);
    const params: unknown[] = [];
    let where = '';
    if (filter.status !== undefined) {
      params.push(filter.status);
      where = 'where status = $1';
    }
    params.push(limit);
    const rows = await this.state.query<ApprovalRow>(`select * from gatehouse_approvals ${where} order by created_at desc, id desc limit $${params.length}`, params);
    if (rows.rows.length === 0) return [];
    const votes = await this.state.query<VoteRow>('select * from gatehouse_approval_votes where approval_id = any($1::text[]) order by decided_at, subject', [rows.rows.map((r) => r.id)]);
    return rows.rows.map((r) => toApproval(r, votes.rows.filter((v) => v.approval_id === r.id)));
  }

  /**
   * The approval a retried operation (same key, same requester) stands on: a granted one decided
   * at or after `grantedSince` and not yet used is marked used (`consumed_at`) in the same
   * transaction and returned as `granted`, so two replicas racing on one grant let exactly one
   * retry through; else a still-pending one is returned as `pending` (named again rather than
   * asking twice); else nothing.
   */
  async takeRetry(key: string, requester: Pick<ApprovalPerson, 'subject' | 'issuer'>, now: Date, grantedSince: Date): Promise<{ granted: Approval } | { pending: Approval } | undefined> {
    await this.init();
    return this.state.transaction(async (tx) => {
      const granted = await tx.query<{ id: string }>(
        `select id from gatehouse_approvals where retry_key = $1 and requester_subject = $2 and requester_issuer = $3
           and status = 'granted' and consumed_at is null and decided_at >= $4::timestamptz
         order by decided_at limit 1 for update`,
        [key, requester.subject, requester.issuer, grantedSince.toISOString()],
      );
      const id = granted.rows[0]?.id;
      if (id !== undefined) {
        await tx.query('update gatehouse_approvals set consumed_at = $2::timestamptz where id = $1', [id, now.toISOString()]);
        const a = await this.read(tx, id, false);
        return a === undefined ? undefined : { granted: a };
      }
      const pending = await tx.query<{ id: string }>(
        `select id from gatehouse_approvals where retry_key = $1 and requester_subject = $2 and requester_issuer = $3
           and status = 'pending' and expires_at > $4::timestamptz order by created_at desc limit 1`,
        [key, requester.subject, requester.issuer, now.toISOString()],
      );
      const pid = pending.rows[0]?.id;
      const a = pid === undefined ? undefined : await this.read(tx, pid, false);
      return a === undefined ? undefined : { pending: a };
    });
  }

  /**
   * Records one approver's verdict. A denial decides at once; approvals decide when
   * `minApprovals` distinct approvers agreed. Throws GH_ERR_NOT_FOUND, GH_ERR_APPROVAL_SELF,
   * GH_ERR_APPROVAL_VOTED, or GH_ERR_APPROVAL_CLOSED (already decided, expired or cancelled;
   * an overdue approval is marked expired on the way).
   */
  async decide(input: DecideInput): Promise<Approval> {
    await this.init();
    const outcome = await this.state.transaction<Outcome>(async (tx) => {
      const current = await this.read(tx, input.id, true);
      if (current === undefined) return { missing: true };
      if (current.status !== 'pending') return { closed: current };
      if (input.now.getTime() >= current.expiresAt.getTime()) {
        // Expiry holds even when no replica is watching: the late decision marks it and is refused.
        return { closed: await this.close(tx, current, 'expired', input.now, 'no decision before the approval expired') };
      }
      if (current.requester.subject === input.decider.subject) return { self: true };
      if (current.votes.some((v) => v.subject === input.decider.subject)) return { voted: current };
      await tx.query(
        `insert into gatehouse_approval_votes (approval_id, subject, issuer, name, verdict, reason, decided_at) values ($1, $2, $3, $4, $5, $6, $7::timestamptz)`,
        [current.id, input.decider.subject, input.decider.issuer, input.decider.name, input.verdict, input.reason, input.now.toISOString()],
      );
      const vote: ApprovalVote = { ...input.decider, verdict: input.verdict, reason: input.reason, at: input.now };
      const withVote: Approval = { ...current, votes: [...current.votes, vote] };
      const approvals = withVote.votes.filter((v) => v.verdict === 'approve').length;
      if (input.verdict === 'deny') return { approval: await this.close(tx, withVote, 'denied', input.now, input.reason) };
      if (approvals >= current.minApprovals) return { approval: await this.close(tx, withVote, 'granted', input.now, input.reason) };
      // Still pending, but a watcher may want to show progress.
      await notify(tx, current.id);
      return { approval: withVote };
    });
    if ('missing' in outcome) throw new GatehouseError('GH_ERR_NOT_FOUND', `no approval with id ${input.id}`);
    if ('self' in outcome) throw new GatehouseError('GH_ERR_APPROVAL_SELF', 'nobody may decide on their own approval request', { details: { id: input.id } });
    if ('voted' in outcome) throw new GatehouseError('GH_ERR_APPROVAL_VOTED', `you already voted on approval ${input.id}; another approver must decide`, { details: { id: input.id } });
    if ('closed' in outcome) {
      throw new GatehouseError('GH_ERR_APPROVAL_CLOSED', `approval ${input.id} is no longer pending (${outcome.closed.status})`, { details: { id: input.id, status: outcome.closed.status } });
    }
    return outcome.approval;
  }

  /**
   * Marks a pending approval `expired` (when overdue) or `cancelled`; returns the approval as it
   * now stands (a decision that committed first wins and is returned unchanged).
   */
  async finish(id: string, status: 'expired' | 'cancelled', now: Date, reason: string): Promise<Approval | undefined> {
    await this.init();
    return this.state.transaction(async (tx) => {
      const current = await this.read(tx, id, true);
      if (current === undefined || current.status !== 'pending') return current;
      if (status === 'expired' && now.getTime() < current.expiresAt.getTime()) return current;
      return this.close(tx, current, status, now, reason);
    });
  }

  /** Marks every overdue pending approval expired; returns how many. */
  async expireOverdue(now: Date): Promise<number> {
    await this.init();
    return this.state.transaction(async (tx) => {
      const r = await tx.query<{ id: string }>(
        `update gatehouse_approvals set status = 'expired', decided_at = $1::timestamptz, reason = 'no decision before the approval expired'
         where status = 'pending' and expires_at <= $1::timestamptz returning id`,
        [now.toISOString()],
      );
      for (const row of r.rows) await notify(tx, row.id);
      return r.rows.length;
    });
  }

  private async close(tx: StateQueryable, current: Approval, status: Exclude<ApprovalStatus, 'pending'>, now: Date, reason: string | null): Promise<Approval> {
    const r = await tx.query(`update gatehouse_approvals set status = $2, decided_at = $3::timestamptz, reason = $4 where id = $1 and status = 'pending'`, [current.id, status, now.toISOString(), reason]);
    if (r.rowCount !== 1) throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `approval ${current.id} changed under a row lock`);
    await notify(tx, current.id);
    return { ...current, status, decidedAt: now, reason };
  }

  private async read(q: StateQueryable, id: string, lock: boolean): Promise<Approval | undefined> {
    const rows = await q.query<ApprovalRow>(`select * from gatehouse_approvals where id = $1${lock ? ' for update' : ''}`, [id]);
    const row = rows.rows[0];
    if (row === undefined) return undefined;
    const votes = await q.query<VoteRow>('select * from gatehouse_approval_votes where approval_id = $1 order by decided_at, subject', [id]);
    return toApproval(row, votes.rows);
  }
}

/** Delivered to listeners when the transaction commits (never for a rolled-back change). */
async function notify(tx: StateQueryable, id: string): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [APPROVAL_CHANNEL, id]);
}

function toApproval(r: ApprovalRow, votes: readonly VoteRow[]): Approval {
  return {
    id: r.id,
    status: r.status as ApprovalStatus,
    sessionId: r.session_id,
    requestId: r.request_id,
    connection: r.connection,
    protocol: r.protocol,
    action: r.action,
    summary: r.summary,
    attributes: typeof r.attributes === 'string' ? (JSON.parse(r.attributes) as Record<string, unknown>) : (r.attributes ?? {}),
    details: typeof r.details === 'string' ? (JSON.parse(r.details) as Record<string, unknown>) : (r.details ?? null),
    requester: { subject: r.requester_subject, issuer: r.requester_issuer, name: r.requester_name, groups: r.requester_groups ?? [] },
    reasons: r.reasons ?? [],
    minApprovals: Number(r.min_approvals),
    createdAt: toDate(r.created_at),
    expiresAt: toDate(r.expires_at),
    decidedAt: r.decided_at === null ? null : toDate(r.decided_at),
    reason: r.reason,
    instanceId: r.instance_id,
    retryKey: r.retry_key ?? null,
    consumedAt: r.consumed_at == null ? null : toDate(r.consumed_at),
    votes: votes.map((v) => ({ subject: v.subject, issuer: v.issuer, name: v.name, verdict: v.verdict as Verdict, reason: v.reason, at: toDate(v.decided_at) })),
  };
}

function toDate(v: Date | string): Date {
  return v instanceof Date ? v : new Date(v);
}
