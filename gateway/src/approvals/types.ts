/** The approval model shared by the store, the service, the admin API and the notifiers. */
export type ApprovalStatus = 'pending' | 'granted' | 'denied' | 'expired' | 'cancelled';

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'granted', 'denied', 'expired', 'cancelled'];

export type Verdict = 'approve' | 'deny';

/** Who asked or decided: from a verified token, never the token itself. */
export interface ApprovalPerson {
  readonly subject: string;
  readonly issuer: string;
  readonly name: string;
}

export interface ApprovalRequester extends ApprovalPerson {
  readonly groups: readonly string[];
}

export interface ApprovalVote extends ApprovalPerson {
  readonly verdict: Verdict;
  readonly reason: string | null;
  readonly at: Date;
}

export interface Approval {
  readonly id: string;
  readonly status: ApprovalStatus;
  readonly sessionId: string;
  readonly requestId: string;
  readonly connection: string;
  readonly protocol: string;
  readonly action: string;
  readonly summary: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /**
   * What the approver sees beyond summary and attributes (HTTP: method, canonical path and query,
   * non-credential headers, the body up to the record cap, masked as configured); null when the
   * protocol gives none.
   */
  readonly details?: Readonly<Record<string, unknown>> | null;
  readonly requester: ApprovalRequester;
  /** Ids of the policies or rules that asked for review. */
  readonly reasons: readonly string[];
  readonly minApprovals: number;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly decidedAt: Date | null;
  /** The deciding reason (the denier's, the last approver's, or why it expired / was cancelled). */
  readonly reason: string | null;
  /** The replica holding the operation. */
  readonly instanceId: string | null;
  readonly votes: readonly ApprovalVote[];
  /** What a refuse-and-retry approval covers (Operation.retryApproval.key); null for a held operation. */
  readonly retryKey?: string | null;
  /** When the retried operation used the grant (it is used once). */
  readonly consumedAt?: Date | null;
}

/** What a new approval needs; the store fills in the status, the decision and the votes. */
export type NewApproval = Omit<Approval, 'status' | 'decidedAt' | 'reason' | 'votes' | 'consumedAt'>;

/** The wire form (admin API, CLI --json, webhooks): ISO times. */
export function approvalJson(a: Approval): Record<string, unknown> {
  return {
    ...a,
    createdAt: a.createdAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    decidedAt: a.decidedAt === null ? null : a.decidedAt.toISOString(),
    consumedAt: a.consumedAt == null ? null : a.consumedAt.toISOString(),
    approvals: a.votes.filter((v) => v.verdict === 'approve').length,
    votes: a.votes.map((v) => ({ ...v, at: v.at.toISOString() })),
  };
}
