import { GatehouseError } from '../errors';
import { sessionIdOfRequest } from '../ids';
import type { SessionRow } from './session-index';
import { SELECT_SESSIONS, toSessionRow, type SessionDbRow, type SqlSessionIndex } from './sql-session-index';

/**
 * The one query behind the web console's session list: filters, keyset paging and who may see
 * what, in one call. The console only calls `search`; implementations decide how to answer (the
 * session table alone here; the event-level index adds decisions, Claude Code session ids and
 * full text behind the same interface).
 */

/** What a session's operations came to, as the console filters by them. */
export const SESSION_DECISIONS = ['allowed', 'denied', 'reviewed', 'masked', 'failed'] as const;
export type SessionDecision = (typeof SESSION_DECISIONS)[number];

export interface SessionSearchFilter {
  /** Subject or user name, exactly. */
  readonly user?: string;
  readonly connection?: string;
  /** `http`, `postgres`, … as recorded on the session. */
  readonly protocol?: string;
  /** Sessions active at any point in [from, to]. */
  readonly from?: Date;
  readonly to?: Date;
  /** Gatehouse request id or client-supplied `x-request-id`. */
  readonly requestId?: string;
  /** Claude Code's `x-claude-code-session-id`. */
  readonly claudeSessionId?: string;
  /** Sessions holding at least one operation with this outcome. */
  readonly decision?: SessionDecision;
  /** Free text over statements, paths and LLM prompts/answers. */
  readonly q?: string;
}

export type SessionSearchFilterKey = keyof SessionSearchFilter;
export const SESSION_SEARCH_FILTER_KEYS: readonly SessionSearchFilterKey[] = ['user', 'connection', 'protocol', 'from', 'to', 'requestId', 'claudeSessionId', 'decision', 'q'];

export interface SessionSearchPage {
  /** Rows per page, 1 to MAX_SEARCH_LIMIT. */
  readonly limit: number;
  /** `nextCursor` of the previous page; absent for the first (newest) page. */
  readonly cursor?: string;
}

/**
 * Who is asking. Admins see every session; anyone else only sessions whose principal is theirs
 * (same issuer and subject). Implementations must apply this in the query itself.
 */
export type SessionViewer = { readonly scope: 'all' } | { readonly scope: 'own'; readonly issuer: string; readonly subject: string };

export interface SessionSearchResult {
  /** Newest first (started_at desc, id desc). */
  readonly rows: readonly SessionRow[];
  /** Opaque; null on the last page. */
  readonly nextCursor: string | null;
}

export interface SessionSearch {
  /**
   * The filters this implementation answers. A filter outside this set is refused with
   * GH_ERR_REQUEST_INVALID (parameter = the key), never ignored: ignoring would widen the search.
   */
  readonly supports: ReadonlySet<SessionSearchFilterKey>;
  search(filter: SessionSearchFilter, page: SessionSearchPage, viewer: SessionViewer): Promise<SessionSearchResult>;
}

export const MAX_SEARCH_LIMIT = 200;

/** The position after a row in newest-first order. */
export interface SessionCursor {
  readonly startedAt: Date;
  readonly id: string;
}

export function encodeCursor(row: Pick<SessionRow, 'startedAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([row.startedAt.toISOString(), row.id]), 'utf8').toString('base64url');
}

/** Throws GH_ERR_REQUEST_INVALID (parameter `cursor`) for anything encodeCursor did not make. */
export function decodeCursor(cursor: string): SessionCursor {
  const bad = (): GatehouseError => new GatehouseError('GH_ERR_REQUEST_INVALID', 'the page cursor is not valid; start from the first page', { details: { parameter: 'cursor' } });
  if (cursor.length > 600 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string') throw bad();
  const startedAt = new Date(value[0]);
  if (Number.isNaN(startedAt.getTime())) throw bad();
  return { startedAt, id: value[1] };
}

/** Refuses filters an implementation cannot answer, and a page outside the limits. */
export function checkSearch(search: Pick<SessionSearch, 'supports'>, filter: SessionSearchFilter, page: SessionSearchPage): void {
  for (const key of SESSION_SEARCH_FILTER_KEYS) {
    if (filter[key] !== undefined && !search.supports.has(key)) {
      throw new GatehouseError('GH_ERR_REQUEST_INVALID', `searching by ${key} needs the event index, which this gateway does not have`, { details: { parameter: key } });
    }
  }
  if (filter.decision !== undefined && !SESSION_DECISIONS.includes(filter.decision)) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `decision must be one of ${SESSION_DECISIONS.join(', ')}`, { details: { parameter: 'decision' } });
  }
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_SEARCH_LIMIT) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `the page size must be an integer from 1 to ${MAX_SEARCH_LIMIT}`, { details: { parameter: 'limit' } });
  }
}

/**
 * The search over the session table alone (state/sql-session-index.ts): user, connection,
 * protocol, time range and request id. Keyset paging on (started_at desc, id desc), which the
 * table's `gatehouse_sessions_started` index serves.
 */
export class SqlSessionSearch implements SessionSearch {
  readonly supports: ReadonlySet<SessionSearchFilterKey> = new Set<SessionSearchFilterKey>(['user', 'connection', 'protocol', 'from', 'to', 'requestId']);

  constructor(private readonly index: Pick<SqlSessionIndex, 'store' | 'init' | 'flush'>) {}

  async search(filter: SessionSearchFilter, page: SessionSearchPage, viewer: SessionViewer): Promise<SessionSearchResult> {
    checkSearch(this, filter, page);
    const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    await this.index.init();
    // Request ids buffered on this replica must be findable by the search that follows them.
    if (filter.requestId !== undefined) await this.index.flush();
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (viewer.scope === 'own') where.push(`s.issuer = ${param(viewer.issuer)} and s.subject = ${param(viewer.subject)}`);
    else if (viewer.scope !== 'all') throw new GatehouseError('GH_ERR_FORBIDDEN', 'unknown viewer scope');
    if (filter.user !== undefined) {
      const p = param(filter.user);
      where.push(`(s.subject = ${p} or s.user_name = ${p})`);
    }
    if (filter.connection !== undefined) where.push(`s.connection = ${param(filter.connection)}`);
    if (filter.protocol !== undefined) where.push(`s.protocol = ${param(filter.protocol)}`);
    if (filter.to !== undefined) where.push(`s.started_at <= ${param(filter.to.toISOString())}::timestamptz`);
    if (filter.from !== undefined) where.push(`(s.ended_at is null or s.ended_at >= ${param(filter.from.toISOString())}::timestamptz)`);
    if (filter.requestId !== undefined) {
      const p = param(filter.requestId);
      const own = sessionIdOfRequest(filter.requestId);
      const direct = own === undefined ? '' : `s.id = ${param(own)} or `;
      where.push(`(${direct}exists (select 1 from gatehouse_session_requests r where r.session_id = s.id and (r.request_id = ${p} or r.client_request_id = ${p})))`);
    }
    if (cursor !== undefined) {
      const t = param(cursor.startedAt.toISOString());
      where.push(`(s.started_at < ${t}::timestamptz or (s.started_at = ${t}::timestamptz and s.id < ${param(cursor.id)}))`);
    }
    // One row more than asked tells whether a next page exists.
    const sql = `${SELECT_SESSIONS}${where.length > 0 ? ` where ${where.join(' and ')}` : ''}
      order by s.started_at desc, s.id desc limit ${param(page.limit + 1)}`;
    const result = await this.index.store.query<SessionDbRow>(sql, params);
    const rows = result.rows.slice(0, page.limit).map(toSessionRow);
    const last = rows[rows.length - 1];
    return { rows, nextCursor: result.rows.length > page.limit && last !== undefined ? encodeCursor(last) : null };
  }
}
