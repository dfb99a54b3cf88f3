import type { SessionDecision } from './session-search';

/**
 * The session index: what `gatehouse sessions list|show|export` and the admin API query.
 * Implementations: PostgreSQL via URL, embedded PGlite by default (state/).
 */
export interface SessionRow {
  readonly id: string;
  readonly protocol: string;
  readonly connection: string | null;
  /** Principal subject (`sub`), or null for unauthenticated attempts. */
  readonly subject: string | null;
  readonly userName: string | null;
  readonly issuer: string | null;
  readonly groups: readonly string[];
  readonly clientAddress: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  /** `open`, `closed`, `auth_failed`. */
  readonly status: string;
  readonly eventCount: number;
  readonly requestCount: number;
  readonly deniedCount: number;
  /** Free-form counters (e.g. masked items by type). */
  readonly counters: Readonly<Record<string, number>>;
  /** Log-store keys of segments holding this session's events. */
  readonly segments: readonly string[];
  /** The client's own session id (Claude Code's `x-claude-code-session-id`), when it sent one. */
  readonly clientSessionId?: string | null;
  /** Every decision seen in the session (allowed, denied, reviewed, masked, failed). */
  readonly decisions?: readonly SessionDecision[];
}

/** One recorded event, as the pipeline hands it to the index after the recorder accepted it. */
export interface RecordedEventRef {
  readonly sessionId: string;
  readonly seq: number;
  readonly time: Date;
  readonly type: string;
  readonly requestId?: string;
  /** The payload exactly as recorded (masked when the connection masks). */
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface SessionFilter {
  /** Matches subject or user name exactly. */
  readonly user?: string;
  readonly connection?: string;
  /** Sessions active at any point in [from, to]. */
  readonly from?: Date;
  readonly to?: Date;
  /** Gatehouse request id or client-supplied `x-request-id`. */
  readonly requestId?: string;
  readonly status?: string;
  readonly limit?: number;
}

export interface SessionIndex {
  init(): Promise<void>;
  sessionStarted(row: Pick<SessionRow, 'id' | 'protocol' | 'connection' | 'subject' | 'userName' | 'issuer' | 'groups' | 'clientAddress' | 'startedAt' | 'status' | 'clientSessionId'>): Promise<void>;
  /**
   * Indexes a client-supplied request id (Gatehouse's own request ids name their session and are
   * found without a row). Buffered: written in batches, not one round trip per request.
   */
  requestSeen(sessionId: string, requestId: string, clientRequestId: string | undefined, time: Date): void;
  /**
   * Indexes one recorded event for the console's search (decision bits, bounded text). Buffered
   * and written in batches off the hot path; never throws: an index failure is counted and
   * logged, the log store stays the source of truth. Optional for indexes without search.
   */
  eventRecorded?(event: RecordedEventRef): void;
  /** `false` when `eventRecorded` ignores every event (event rows off): callers skip building them. */
  readonly indexEvents?: boolean;
  sessionEnded(id: string, update: { endedAt: Date; status: string; eventCount: number; requestCount: number; deniedCount: number; counters?: Record<string, number> }): Promise<void>;
  segmentSealed(key: string, sessionIds: readonly string[]): Promise<void>;
  list(filter: SessionFilter): Promise<SessionRow[]>;
  get(id: string): Promise<SessionRow | undefined>;
  flush(): Promise<void>;
  close(): Promise<void>;
}
