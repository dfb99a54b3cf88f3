import { GatehouseError } from '../errors';
import { sessionIdOfRequest } from '../ids';
import { DECISION_BITS } from './event-index-row';
import type { SessionRow } from './session-index';
import { SELECT_SESSIONS, toSessionRow, type SessionDbRow, type SqlSessionIndex } from './sql-session-index';
import type { StateQueryable } from './store';
import { planTextQuery, type TextCheck, type TextQueryPlan } from './text-query';

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
/** Longest free-text query accepted (characters). */
export const MAX_QUERY_LENGTH = 500;

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
  if (filter.q !== undefined && filter.q.length > MAX_QUERY_LENGTH) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `the search text is longer than ${MAX_QUERY_LENGTH} characters`, { details: { parameter: 'q' } });
  }
  if (filter.decision !== undefined && !SESSION_DECISIONS.includes(filter.decision)) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `decision must be one of ${SESSION_DECISIONS.join(', ')}`, { details: { parameter: 'decision' } });
  }
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_SEARCH_LIMIT) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', `the page size must be an integer from 1 to ${MAX_SEARCH_LIMIT}`, { details: { parameter: 'limit' } });
  }
}

export interface SqlSessionSearchOptions {
  /** Bound on one search's query time; past it the search fails with GH_ERR_STATE_UNAVAILABLE (reason `timeout`). @default 5000 */
  readonly timeoutMs?: number;
  /** Sessions a text search walks in page order before it turns to the text index for older ones. @default 2000 */
  readonly textWindow?: number;
}

/**
 * The search over the session index (state/sql-session-index.ts, schema in session-schema.ts):
 * every filter is answered from `gatehouse_sessions` alone (decision bits, client session id and
 * the union of lexemes are kept on the session row as its events are indexed), so a page never
 * scans events; only a phrase reads the event rows of the candidate sessions it needs. Keyset paging on (started_at desc, id desc), which `gatehouse_sessions_started`
 * serves; the viewer's scope is part of the query. Free text: `websearch_to_tsquery('simple', q)`
 * against the session's lexemes, phrases checked on its event rows (text-query.ts); 'simple'
 * because the indexed text is SQL, paths, identifiers and prompts in any language: no stemming,
 * no stop words (an English configuration would drop "all", "into", "where" and stem table names).
 */
export class SqlSessionSearch implements SessionSearch {
  readonly supports: ReadonlySet<SessionSearchFilterKey>;
  private readonly timeoutMs: number;
  private readonly textWindow: number;

  constructor(
    private readonly index: Pick<SqlSessionIndex, 'store' | 'init' | 'flush'> & { readonly indexEvents?: boolean },
    options: SqlSessionSearchOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.textWindow = options.textWindow ?? TEXT_WINDOW;
    // Decision bits and words come from event rows: without them these filters would silently find
    // nothing, so they are refused instead (the console shows why).
    const eventFilters = new Set<SessionSearchFilterKey>(['decision', 'q'] as SessionSearchFilterKey[]);
    this.supports = new Set(SESSION_SEARCH_FILTER_KEYS.filter((k) => index.indexEvents !== false || !eventFilters.has(k)));
  }

  async search(filter: SessionSearchFilter, page: SessionSearchPage, viewer: SessionViewer): Promise<SessionSearchResult> {
    checkSearch(this, filter, page);
    const cursor = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    if (viewer.scope !== 'all' && viewer.scope !== 'own') throw new GatehouseError('GH_ERR_FORBIDDEN', 'unknown viewer scope');
    const q = filter.q?.trim();
    await this.index.init();
    // Request ids buffered on this replica must be findable by the search that follows them.
    if (filter.requestId !== undefined) await this.index.flush();
    /** The conditions of every filter but the text, with their parameters through `param`. */
    const filters = (param: (value: unknown) => string): string[] => {
      const where: string[] = [];
      if (viewer.scope === 'own') where.push(`s.issuer = ${param(viewer.issuer)} and s.subject = ${param(viewer.subject)}`);
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
        // An IN over a union (not `s.id = … or exists …`): each arm uses its index; the OR form
        // scanned every session (measured 430 ms at 100k sessions).
        const direct = own === undefined ? '' : `select ${param(own)}::text union all `;
        where.push(`s.id in (${direct}select r.session_id from gatehouse_session_requests r where r.request_id = ${p} union all select r.session_id from gatehouse_session_requests r where r.client_request_id = ${p})`);
      }
      if (filter.claudeSessionId !== undefined) where.push(`s.client_session_id = ${param(filter.claudeSessionId)}`);
      if (filter.decision !== undefined) where.push(`(s.decisions & ${param(DECISION_BITS[filter.decision])}::integer) <> 0`);
      if (cursor !== undefined) where.push(position(param, cursor, 'older'));
      return where;
    };
    const limit = page.limit + 1; // one row more than asked tells whether a next page exists
    const result = await this.run(async (tx) => {
      const plan = q === undefined || q === '' ? undefined : await textPlan(tx, q);
      if (plan?.prefilter === false) return [];
      type Conditions = (param: (value: unknown) => string) => string[];
      /** `inner`: conditions of an ordered subquery the `extra` ones then filter lazily, row by row, until the page is full. */
      const pageOf = async (extra: Conditions, n: number, o: { select?: string; offset?: number; inner?: Conditions } = {}) => {
        const params: unknown[] = [];
        const param = (value: unknown): string => {
          params.push(value);
          return `$${params.length}`;
        };
        const order = 'order by s.started_at desc, s.id desc';
        let select = o.select ?? SELECT_SESSIONS;
        let where: string[];
        if (o.inner !== undefined) {
          const inner = [...filters(param), ...o.inner(param)];
          select = select.replace(/from gatehouse_sessions s$/, `from (select s.* from gatehouse_sessions s where ${inner.join(' and ')} ${order}) s`);
          where = extra(param);
        } else {
          where = [...filters(param), ...extra(param)];
        }
        const sql = `${select}${where.length > 0 ? ` where ${where.join(' and ')}` : ''} ${order} limit ${param(n)}${o.offset ? ` offset ${param(o.offset)}` : ''}`;
        return (await tx.query<SessionDbRow>(sql, params)).rows;
      };
      if (plan === undefined) return pageOf(() => [], limit);
      const text: Conditions = (param) => textSql(plan, param);
      // Text: the planner cannot know how the words correlate (every session that says "w1" may
      // also say "please"), and a wrong guess walks the whole table in page order testing each
      // row's words (840 ms at 100k sessions for a search with no match). So the walk is bounded:
      // the newest `textWindow` sessions the other filters select first, then, if the page is not
      // full, the older ones through the text index (a bitmap: cost bounded by the matches).
      const [edge] = await pageOf(() => [], 1, { select: 'select s.started_at, s.id from gatehouse_sessions s', offset: this.textWindow - 1 });
      if (edge === undefined) return pageOf(text, limit);
      const boundary: SessionCursor = { startedAt: new Date(edge.started_at), id: edge.id };
      const newest = await pageOf((param) => [...text(param), position(param, boundary, 'atOrNewer')], limit);
      if (newest.length >= limit) return newest;
      // Local to this transaction, which ends with the page: the older candidates through bitmap
      // scans of the session row's index, sorted, then a phrase (on event rows) checked on them
      // one by one until the page is full, not on every candidate before the sort.
      await tx.query(`select set_config('enable_indexscan', 'off', true), set_config('enable_seqscan', 'off', true)`);
      const prefilter: Conditions = (param) => (typeof plan.prefilter === 'string' ? [`s.doc @@ ${param(plan.prefilter)}::tsquery`] : []);
      const phrase: Conditions = (param) => (plan.check === undefined ? [] : [checkSql(plan.check, param)]);
      const older = await pageOf(phrase, limit - newest.length, { inner: (param) => [...prefilter(param), position(param, boundary, 'older')] });
      return [...newest, ...older];
    });
    const rows = result.slice(0, page.limit).map(toSessionRow);
    const last = rows[rows.length - 1];
    return { rows, nextCursor: result.length > page.limit && last !== undefined ? encodeCursor(last) : null };
  }

  /** Runs the page query under a local statement_timeout; a timeout becomes GH_ERR_STATE_UNAVAILABLE. */
  private async run(query: (tx: StateQueryable) => Promise<SessionDbRow[]>): Promise<SessionDbRow[]> {
    try {
      return await this.index.store.transaction(async (tx) => {
        // No parallel workers: a page reads a bounded number of rows, and starting workers cost
        // more than they saved (measured: a phrase page 40-50 ms with two workers, 3.5 ms without).
        // No JIT either: compiling costs hundreds of milliseconds, more than any page reads.
        await tx.query(`select set_config('statement_timeout', $1, true), set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)`, [String(this.timeoutMs)]);
        return query(tx);
      });
    } catch (e) {
      if (e instanceof GatehouseError && e.details?.driverCode === '57014') {
        throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `the search took longer than ${this.timeoutMs} ms; narrow it (a time range, a user or a connection)`, { cause: e, details: { reason: 'timeout' } });
      }
      throw e;
    }
  }
}

/** Sessions walked in page order before a text search turns to its index (see search()). */
const TEXT_WINDOW = 2000;

/**
 * Rows older than a position in newest-first order, or the row itself and newer ones. A row
 * comparison, which the (started_at desc, id desc) index seeks to: the spelled-out `a < t or
 * (a = t and id < x)` was only a filter, so page 21 walked the 1,000 rows before it. The plain
 * bound on started_at lets the other (…, started_at desc) indexes start there too.
 */
function position(param: (value: unknown) => string, at: SessionCursor, side: 'older' | 'atOrNewer'): string {
  const t = param(at.startedAt.toISOString());
  const id = param(at.id);
  return side === 'older'
    ? `s.started_at <= ${t}::timestamptz and (s.started_at, s.id) < (${t}::timestamptz, ${id}::text)`
    : `s.started_at >= ${t}::timestamptz and (s.started_at, s.id) >= (${t}::timestamptz, ${id}::text)`;
}

/**
 * The plan of the search text `q` (text-query.ts), from PostgreSQL's own parse of it. Refuses
 * text that holds no word.
 */
async function textPlan(tx: StateQueryable, q: string): Promise<TextQueryPlan> {
  const parsed = await tx.query<{ n: number | string; text: string }>(`select numnode(t) as n, t::text as text from websearch_to_tsquery('simple', $1) as t`, [q]);
  const row = parsed.rows[0];
  if (row === undefined || Number(row.n) === 0) {
    throw new GatehouseError('GH_ERR_REQUEST_INVALID', 'the search text holds no word to search for', { details: { parameter: 'q' } });
  }
  return planTextQuery(row.text);
}

/**
 * The text conditions: the session row's lexemes through their GIN index, and, when the query
 * holds a phrase, the phrase checked on the session's event rows (which keep word positions).
 */
function textSql(plan: TextQueryPlan, param: (value: unknown) => string): string[] {
  const parts: string[] = [];
  if (typeof plan.prefilter === 'string') parts.push(`s.doc @@ ${param(plan.prefilter)}::tsquery`);
  if (plan.check !== undefined) parts.push(checkSql(plan.check, param));
  return parts;
}

function checkSql(c: TextCheck, param: (value: unknown) => string): string {
  switch (c.kind) {
    case 'session':
      return `s.doc @@ ${param(c.tsquery)}::tsquery`;
    case 'events':
      // The session's own rows through the primary key (session_id, seq); only rows with text.
      return `exists (select 1 from gatehouse_session_events e where e.session_id = s.id and e.doc @@ ${param(c.tsquery)}::tsquery)`;
    case 'not':
      return `not (${checkSql(c.child, param)})`;
    case 'and':
    case 'or':
      return `(${checkSql(c.left, param)} ${c.kind} ${checkSql(c.right, param)})`;
  }
}
