import pino from 'pino';
import type { StateConfig } from '../config/schema';
import { sessionIdOfRequest } from '../ids';
import { GatehouseError } from '../errors';
import { runMigrations } from './migrations';
import { DECISION_BITS, decisionNames, eventIndexFacts } from './event-index-row';
import type { RecordedEventRef, SessionFilter, SessionIndex, SessionRow } from './session-index';
import { SESSION_MIGRATIONS } from './session-schema';
import { createStateStore, type StateLogger, type StateStore } from './store';

/** The newest-first page size when a filter names none, and the most one call returns. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
/** Longer client request ids are not indexed: they are client-chosen and would bloat the index. */
const MAX_CLIENT_REQUEST_ID = 256;

export interface SessionIndexOptions {
  readonly logger?: StateLogger;
  /** Share an open store (e.g. with approvals); the index then leaves closing it to the owner. */
  readonly store?: StateStore;
  /** Resolves `state.url` when it is a secret reference. */
  readonly resolveSecret?: (ref: string) => Promise<string>;
  /** How long request ids wait before a batch insert. @default 100 */
  readonly flushIntervalMs?: number;
  /** Request ids per insert; a full batch is written at once. @default 500 */
  readonly maxBatch?: number;
  /** Bound on request ids waiting while the store is unreachable; the oldest are dropped beyond it. @default 50000 */
  readonly maxPending?: number;
  /** Bound on event rows waiting for the store; the oldest are dropped (and counted) beyond it. @default 50000 */
  readonly maxPendingEvents?: number;
  /**
   * Index every recorded event (decisions, request ids, search text) for the console's decision and
   * full-text filters. Off, sessions are still indexed (user, connection, protocol, time, ids).
   * @default true
   */
  readonly indexEvents?: boolean;
  /** Delay before retrying a failed background batch. @default 1000 */
  readonly retryDelayMs?: number;
}

export interface SessionIndexStats {
  readonly pendingRequestIds: number;
  /** Request ids dropped because the store stayed unreachable (the recording still holds them). */
  readonly droppedRequestIds: number;
  readonly pendingEvents: number;
  /** Event rows not indexed (store unreachable past the bound, or refused); the log store still holds the events. */
  readonly droppedEvents: number;
}

/** Distinct lexemes kept per session for the list's full-text filter; later text is still in the event rows. */
export const MAX_SESSION_LEXEMES = 50000;

/** The session index on the state store; `state.url` selects PostgreSQL, otherwise embedded PGlite. */
export function createSessionIndex(stateConfig: StateConfig, options: SessionIndexOptions = {}): SqlSessionIndex {
  return new SqlSessionIndex(stateConfig, options);
}

interface PendingRequest {
  readonly sessionId: string;
  readonly requestId: string;
  readonly clientRequestId: string | null;
  readonly time: string;
}

interface PendingEvent {
  readonly sessionId: string;
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly decisions: number;
  readonly requestId: string | null;
  readonly text: string;
}

/** A row of SELECT_SESSIONS, before toSessionRow (session-search.ts shares both). */
export interface SessionDbRow {
  id: string;
  protocol: string;
  connection: string | null;
  subject: string | null;
  user_name: string | null;
  issuer: string | null;
  groups: string[] | null;
  client_address: string | null;
  started_at: Date | string;
  ended_at: Date | string | null;
  status: string;
  event_count: number | string;
  request_count: number | string;
  denied_count: number | string;
  counters: Record<string, number> | string | null;
  segments: string[] | null;
  client_session_id?: string | null;
  decisions?: number | string | null;
}

export const SELECT_SESSIONS = `select s.id, s.protocol, s.connection, s.subject, s.user_name, s.issuer, s.groups,
  s.client_address, s.started_at, s.ended_at, s.status, s.event_count, s.request_count, s.denied_count, s.counters,
  s.client_session_id, s.decisions,
  coalesce((select array_agg(g.segment_key order by g.segment_key) from gatehouse_session_segments g where g.session_id = s.id), '{}') as segments
  from gatehouse_sessions s`;

export class SqlSessionIndex implements SessionIndex {
  /** The store underneath, for features that keep their own tables in the same database. */
  readonly store: StateStore;
  private readonly ownsStore: boolean;
  private readonly logger: StateLogger;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly retryDelayMs: number;
  private initializing: Promise<void> | undefined;
  private pending: PendingRequest[] = [];
  private dropped = 0;
  private pendingEvents: PendingEvent[] = [];
  private droppedEvents = 0;
  private readonly maxPendingEvents: number;
  private timer: NodeJS.Timeout | undefined;
  private flushChain: Promise<void> = Promise.resolve();
  private failing = false;
  private closed = false;

  /** Whether event rows are written (SessionIndexOptions.indexEvents). */
  readonly indexEvents: boolean;

  constructor(stateConfig: StateConfig, options: SessionIndexOptions = {}) {
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? createStateStore(stateConfig, { logger: this.logger, resolveSecret: options.resolveSecret });
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxPending = options.maxPending ?? 50000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxPendingEvents = options.maxPendingEvents ?? 50000;
    this.indexEvents = options.indexEvents ?? true;
  }

  /** Opens the store and applies pending migrations; safe to call more than once and from many replicas. */
  init(): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    this.initializing ??= (async () => {
      const applied = await runMigrations(this.store, 'sessions', SESSION_MIGRATIONS);
      if (applied.length > 0) this.logger.info({ versions: applied }, 'session index schema migrated');
    })().catch((e: unknown) => {
      this.initializing = undefined; // let a later call retry once the store is back
      throw e;
    });
    return this.initializing;
  }

  async sessionStarted(row: Parameters<SessionIndex['sessionStarted']>[0]): Promise<void> {
    await this.ready();
    await this.store.query(
      // Event rows written before this row existed (another connection's batch) are folded in here.
      `insert into gatehouse_sessions (id, protocol, connection, subject, user_name, issuer, groups, client_address, started_at, status, client_session_id, decisions, doc)
       values ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9::timestamptz, $10, $11,
         coalesce((select bit_or(e.decisions) from gatehouse_session_events e where e.session_id = $1), 0),
         (select array_to_tsvector(array_agg(distinct l.lexeme)) from gatehouse_session_events e, unnest(tsvector_to_array(e.doc)) as l(lexeme) where e.session_id = $1))
       on conflict (id) do nothing`,
      [row.id, row.protocol, row.connection, row.subject, row.userName, row.issuer, [...row.groups], row.clientAddress, row.startedAt.toISOString(), row.status, row.clientSessionId ?? null],
    );
  }

  requestSeen(sessionId: string, requestId: string, clientRequestId: string | undefined, time: Date): void {
    if (this.closed) {
      this.dropped++;
      this.logger.warn({ sessionId }, 'request id seen after the session index closed; not indexed');
      return;
    }
    const client = clientRequestId !== undefined && clientRequestId !== '' && clientRequestId.length <= MAX_CLIENT_REQUEST_ID ? clientRequestId : null;
    this.pending.push({ sessionId, requestId, clientRequestId: client, time: time.toISOString() });
    this.trimPending();
    if (this.pending.length >= this.maxBatch && !this.failing) {
      this.flushInBackground();
    } else {
      this.schedule(this.failing ? this.retryDelayMs : this.flushIntervalMs);
    }
  }

  eventRecorded(event: RecordedEventRef): void {
    if (!this.indexEvents) return;
    if (this.closed) {
      this.droppedEvents++;
      return;
    }
    let facts;
    try {
      facts = eventIndexFacts(event.type, event.payload);
    } catch (e) {
      // A payload the index cannot read is still in the record; only its search row is missing.
      this.droppedEvents++;
      this.logger.warn({ sessionId: event.sessionId, seq: event.seq, err: (e as Error).message }, 'event not indexed');
      return;
    }
    this.pendingEvents.push({
      sessionId: event.sessionId,
      seq: event.seq,
      time: event.time.toISOString(),
      type: event.type,
      decisions: facts.decisions,
      requestId: event.requestId ?? null,
      text: facts.text,
    });
    this.trimPending();
    if (this.pendingEvents.length >= this.maxBatch && !this.failing) {
      this.flushInBackground();
    } else {
      this.schedule(this.failing ? this.retryDelayMs : this.flushIntervalMs);
    }
  }

  async sessionEnded(id: string, update: Parameters<SessionIndex['sessionEnded']>[1]): Promise<void> {
    await this.ready();
    await this.store.query(
      `update gatehouse_sessions set ended_at = $2::timestamptz, status = $3, event_count = $4, request_count = $5, denied_count = $6,
         counters = coalesce($7::jsonb, counters), decisions = decisions | $8
       where id = $1`,
      [id, update.endedAt.toISOString(), update.status, update.eventCount, update.requestCount, update.deniedCount, update.counters === undefined ? null : JSON.stringify(update.counters), endDecisions(update)],
    );
  }

  async segmentSealed(key: string, sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await this.ready();
    await this.store.query(
      `insert into gatehouse_session_segments (session_id, segment_key)
       select distinct u.session_id, $1 from unnest($2::text[]) as u(session_id)
       on conflict do nothing`,
      [key, [...sessionIds]],
    );
  }

  async list(filter: SessionFilter): Promise<SessionRow[]> {
    const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new GatehouseError('GH_ERR_REQUEST_INVALID', `limit must be a positive integer (got ${String(limit)})`, { details: { parameter: 'limit' } });
    }
    await this.ready();
    // Request ids buffered on this replica must be findable by the search that follows them.
    if (filter.requestId !== undefined && this.pending.length > 0) await this.flush();
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.user !== undefined) {
      const p = param(filter.user);
      where.push(`(s.subject = ${p} or s.user_name = ${p})`);
    }
    if (filter.connection !== undefined) where.push(`s.connection = ${param(filter.connection)}`);
    if (filter.status !== undefined) where.push(`s.status = ${param(filter.status)}`);
    // Active in [from, to]: started by `to` and not ended before `from` (open sessions are still active).
    if (filter.to !== undefined) where.push(`s.started_at <= ${param(filter.to.toISOString())}::timestamptz`);
    if (filter.from !== undefined) where.push(`(s.ended_at is null or s.ended_at >= ${param(filter.from.toISOString())}::timestamptz)`);
    const ownSession = filter.requestId === undefined ? undefined : sessionIdOfRequest(filter.requestId);
    if (ownSession !== undefined) {
      // A Gatehouse request id names its session; it may also have been indexed explicitly.
      const p = param(filter.requestId!);
      where.push(`(s.id = ${param(ownSession)} or exists (select 1 from gatehouse_session_requests r where r.session_id = s.id and r.request_id = ${p}))`);
    } else if (filter.requestId !== undefined) {
      const p = param(filter.requestId);
      where.push(`exists (select 1 from gatehouse_session_requests r where r.session_id = s.id and (r.request_id = ${p} or r.client_request_id = ${p}))`);
    }
    const sql = `${SELECT_SESSIONS}${where.length > 0 ? ` where ${where.join(' and ')}` : ''}
      order by s.started_at desc, s.id desc limit ${param(Math.min(limit, MAX_LIST_LIMIT))}`;
    const result = await this.store.query<SessionDbRow>(sql, params);
    return result.rows.map(toSessionRow);
  }

  async get(id: string): Promise<SessionRow | undefined> {
    await this.ready();
    const result = await this.store.query<SessionDbRow>(`${SELECT_SESSIONS} where s.id = $1`, [id]);
    const row = result.rows[0];
    return row === undefined ? undefined : toSessionRow(row);
  }

  /** Writes every buffered request id and event row; rejects with GH_ERR_STATE_UNAVAILABLE (they stay buffered). */
  flush(): Promise<void> {
    this.clearTimer();
    const run = this.flushChain.then(() => this.writePending());
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  /** Flushes, then closes the store if this index opened it. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.pending.length > 0 || this.pendingEvents.length > 0) await this.flush();
    } finally {
      this.closed = true;
      this.clearTimer();
      if (this.pending.length > 0) {
        this.dropped += this.pending.length;
        this.logger.warn({ count: this.pending.length }, 'session index closed with request ids not indexed');
        this.pending = [];
      }
      if (this.pendingEvents.length > 0) {
        this.droppedEvents += this.pendingEvents.length;
        this.logger.warn({ count: this.pendingEvents.length }, 'session index closed with events not indexed');
        this.pendingEvents = [];
      }
      if (this.ownsStore) await this.store.close();
    }
  }

  stats(): SessionIndexStats {
    return { pendingRequestIds: this.pending.length, droppedRequestIds: this.dropped, pendingEvents: this.pendingEvents.length, droppedEvents: this.droppedEvents };
  }

  private ready(): Promise<void> {
    return this.init();
  }

  private async writePending(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        await this.ready();
        // One statement per batch: the arrays expand into rows server-side.
        await this.store.query(
          `insert into gatehouse_session_requests (session_id, request_id, client_request_id, seen_at)
           select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
           on conflict do nothing`,
          [batch.map((r) => r.sessionId), batch.map((r) => r.requestId), batch.map((r) => r.clientRequestId), batch.map((r) => r.time)],
        );
      } catch (e) {
        this.pending.unshift(...batch);
        this.trimPending();
        throw e;
      }
    }
    while (this.pendingEvents.length > 0) {
      const batch = this.pendingEvents.splice(0, this.maxBatch);
      try {
        await this.ready();
        await this.writeEvents(batch);
      } catch (e) {
        this.pendingEvents.unshift(...batch);
        this.trimPending();
        throw e;
      }
    }
    if (this.failing) this.logger.info('session index reachable again; buffered rows written');
    this.failing = false;
  }

  /**
   * One statement per batch: event rows in, and each session's aggregates (decision bits, the
   * union of lexemes, bounded) folded into its row, so the list query never reads events.
   */
  private async writeEvents(batch: readonly PendingEvent[]): Promise<void> {
    await this.store.query(
      `with rows as (
         select * from unnest($1::text[], $2::integer[], $3::timestamptz[], $4::text[], $5::integer[], $6::text[], $7::text[])
           as u(session_id, seq, time, type, decisions, request_id, text)
       ), ins as (
         insert into gatehouse_session_events (session_id, seq, time, type, decisions, request_id, doc)
         select session_id, seq, time, type, decisions, request_id, case when text = '' then null else to_tsvector('simple', text) end from rows
         on conflict do nothing
       ), agg as (
         select session_id, bit_or(decisions) as decisions, strip(to_tsvector('simple', coalesce(string_agg(nullif(text, ''), ' '), ''))) as doc
         from rows group by session_id
       )
       update gatehouse_sessions s set decisions = s.decisions | agg.decisions,
         doc = case when length(agg.doc) = 0 then s.doc
                    when s.doc is null then agg.doc
                    when length(s.doc) >= ${MAX_SESSION_LEXEMES} then s.doc
                    else s.doc || agg.doc end
       from agg where s.id = agg.session_id`,
      [
        batch.map((e) => e.sessionId),
        batch.map((e) => e.seq),
        batch.map((e) => e.time),
        batch.map((e) => e.type),
        batch.map((e) => e.decisions),
        batch.map((e) => e.requestId),
        batch.map((e) => e.text),
      ],
    );
  }

  private flushInBackground(): void {
    this.flush().catch((e: unknown) => {
      if (!this.failing) this.logger.warn({ err: (e as Error).message, pending: this.pending.length }, 'session index batch failed; will retry');
      this.failing = true;
      if (!this.closed && this.pending.length > 0) this.schedule(this.retryDelayMs);
    });
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushInBackground();
    }, delayMs);
    // A pending batch must not keep the process alive; close() flushes what is left.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private trimPending(): void {
    const excess = this.pending.length - this.maxPending;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
    const excessEvents = this.pendingEvents.length - this.maxPendingEvents;
    if (excessEvents > 0) {
      this.pendingEvents.splice(0, excessEvents);
      this.droppedEvents += excessEvents;
      this.logger.warn({ dropped: excessEvents, total: this.droppedEvents }, 'session index: event rows dropped (store not keeping up); `gatehouse index rebuild` restores them');
    }
  }
}

function closedError(): GatehouseError {
  return new GatehouseError('GH_ERR_STATE_UNAVAILABLE', 'the session index is closed');
}

/** Decision bits a session's end tells (counters and status), beyond its events' own. */
function endDecisions(update: Parameters<SessionIndex['sessionEnded']>[1]): number {
  let bits = 0;
  if (update.status === 'auth_failed') bits |= DECISION_BITS.failed;
  if (update.deniedCount > 0) bits |= DECISION_BITS.denied;
  for (const [name, n] of Object.entries(update.counters ?? {})) {
    if (n <= 0) continue;
    if (name.startsWith('masked.')) bits |= DECISION_BITS.masked;
    if (name === 'masking.failed') bits |= DECISION_BITS.failed;
  }
  return bits;
}

export function toSessionRow(r: SessionDbRow): SessionRow {
  return {
    id: r.id,
    protocol: r.protocol,
    connection: r.connection,
    subject: r.subject,
    userName: r.user_name,
    issuer: r.issuer,
    groups: r.groups ?? [],
    clientAddress: r.client_address,
    startedAt: new Date(r.started_at),
    endedAt: r.ended_at === null ? null : new Date(r.ended_at),
    status: r.status,
    eventCount: Number(r.event_count),
    requestCount: Number(r.request_count),
    deniedCount: Number(r.denied_count),
    counters: typeof r.counters === 'string' ? (JSON.parse(r.counters) as Record<string, number>) : (r.counters ?? {}),
    segments: r.segments ?? [],
    clientSessionId: r.client_session_id ?? null,
    decisions: decisionNames(Number(r.decisions ?? 0)),
  };
}
