import type { AuthorizeOptions, GatewaySession } from '../../pipeline/types';
import { DECISION_CODES, type Decision, type Operation } from '../../policy/decision';
import { classifySql, sqlOperation, type SqlStatement } from './sql/classify';
import { normalizeSql } from './sql/normalize';
import type { SqlRefusal, SqlScope } from './sql/resolve';
import { MAX_SEARCH_PATHS, SqlSessionState } from './sql/session-state';

/** What judging one SQL text (a Query, or a Parse) decided. */
export interface Judgment {
  readonly allowed: boolean;
  /** The allowed statements, in order (all of them when allowed; those before the refused one otherwise), each with its request id. */
  readonly statements: readonly JudgedStatement[];
  /** The refusal, when not allowed: message for the client's ErrorResponse. */
  readonly refusal?: string;
  /** True when the refusal came from the unparsed-statement setting, not from policy. */
  readonly unparsed?: boolean;
}

export interface JudgedStatement {
  readonly requestId: string;
  readonly text: string;
  readonly command: string;
  readonly kind: string;
  readonly tables: readonly string[];
}

export type UnparsedMode = 'deny' | 'review' | 'allow';

/** How a connection treats SQL text it cannot or will not parse. */
export interface SqlJudgmentRules {
  readonly unparsed: UnparsedMode;
  /**
   * Longest text (in characters) given to the parser. Parsing runs on the event loop at about
   * half a microsecond per character, so one 64 MB statement would stall every session for half a
   * minute; a longer text is judged as unparsed instead.
   */
  readonly maxStatementLength: number;
  /** The upstream database: a three-part name in it is reduced to `schema.name`; any other is refused. */
  readonly database?: string;
  /** The upstream role, for `$user` in the search_path. */
  readonly user?: string;
  /**
   * The upstream session is read-only (`upstream.roles[].readOnly` / `upstream.readOnly`): a
   * statement that may make a transaction or the session read-write (flag `read_write`,
   * sql/statement.ts) is refused whatever policy says. The server does not report
   * `transaction_read_only` in ParameterStatus, so this is the only place that sees it.
   */
  readonly readOnly?: boolean;
}

const states = new WeakMap<GatewaySession, SqlSessionState>();

/** The name-resolution state of one client session (created on first use, one per session). */
export function sqlSessionState(session: GatewaySession, rules: SqlJudgmentRules): SqlSessionState {
  let state = states.get(session);
  if (state === undefined) {
    state = new SqlSessionState(rules.database, rules.user);
    states.set(session, state);
  }
  return state;
}

/** One statement ready for judgment: what is recorded about it, and the operation policy judges. */
interface Classified {
  readonly text: string;
  readonly command: string;
  readonly kind: string;
  readonly tables: readonly string[];
  readonly operation: Operation;
  readonly refusal?: SqlRefusal;
  readonly searchPath?: readonly string[] | 'default';
  readonly prepares?: string;
  readonly executes?: readonly string[];
}

type Classification = { readonly ok: true; readonly statements: readonly Classified[] } | { readonly ok: false; readonly error: string };

const byStatement = new WeakMap<SqlStatement, Classified>();

/** The classifier caches statements by text, so their judgment shape can be cached per statement object. */
function classifiedOf(statement: SqlStatement): Classified {
  let c = byStatement.get(statement);
  if (c === undefined) {
    c = {
      text: statement.text,
      command: statement.command,
      kind: statement.kind,
      tables: statement.tables,
      operation: sqlOperation(statement),
      ...(statement.refusal === undefined ? {} : { refusal: statement.refusal }),
      ...(statement.searchPath === undefined ? {} : { searchPath: statement.searchPath }),
      ...(statement.prepares === undefined ? {} : { prepares: statement.prepares }),
      ...(statement.executes === undefined ? {} : { executes: statement.executes }),
    };
    byStatement.set(statement, c);
  }
  return c;
}

/** What every text with one normalized key shares: everything but the text (sql/normalize.ts says why that is sound). */
interface Shape {
  readonly command: string;
  readonly kind: string;
  readonly tables: readonly string[];
  readonly action: string;
  readonly attributes: Operation['attributes'];
  readonly prepares?: string;
  readonly executes?: readonly string[];
}

export const SHAPE_CACHE_ENTRIES = 2000;

/**
 * Two generations per scope, as the classifier's own cache (a hit is two Map gets: the scope's key
 * string is one object per scope, so its hash is computed once). Resolution depends on the scope
 * (database, search_path), so the same key means a different shape in another scope.
 */
class ShapeCache {
  young = new Map<string, Shape>();
  old = new Map<string, Shape>();
  get(key: string): Shape | undefined {
    let shape = this.young.get(key);
    if (shape === undefined) {
      shape = this.old.get(key);
      if (shape !== undefined) this.remember(key, shape);
    }
    return shape;
  }
  remember(key: string, shape: Shape): void {
    this.young.set(key, shape);
    if (this.young.size >= SHAPE_CACHE_ENTRIES / 2) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}

let shapesByScope = new Map<string, ShapeCache>();
const NO_SCOPE = '';

function shapesOf(scopeKey: string): ShapeCache {
  let cache = shapesByScope.get(scopeKey);
  if (cache === undefined) {
    // Scopes are few (sessions that set a search_path add some); bound them anyway.
    if (shapesByScope.size >= 64) shapesByScope = new Map();
    cache = new ShapeCache();
    shapesByScope.set(scopeKey, cache);
  }
  return cache;
}

/** Empties the literal-insensitive cache (tests). */
export function clearShapeCache(): void {
  shapesByScope = new Map();
}

/** An operation whose summary (only read for denials and approvals) is computed when asked for. */
class StatementOperation implements Operation {
  readonly protocol = 'postgres';
  private summaryText: string | undefined;
  constructor(
    readonly action: string,
    readonly attributes: Operation['attributes'],
    private readonly text: string,
  ) {}
  get summary(): string {
    return (this.summaryText ??= summarize(this.text));
  }
}

const MAX_SUMMARY = 200;
/** The same summary as sqlOperation's. */
function summarize(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= MAX_SUMMARY ? flat : `${flat.slice(0, MAX_SUMMARY - 1)}…`;
}

/**
 * Classifies one SQL text for judgment. A one-statement text whose literals can be abstracted
 * (sql/normalize.ts) is looked up by its literal-insensitive key first: `... WHERE aid = 123` and
 * `... = 456` are parsed once. Everything else goes to the classifier (which caches exact texts).
 */
export function classifyForJudgment(text: string, scope?: SqlScope): Classification {
  const norm = normalizeSql(text);
  if (norm === undefined || norm.singleEnd === undefined) return exact(text, scope);
  const key = norm.key;
  const shapes = shapesOf(scope === undefined ? NO_SCOPE : scope.key);
  const shape = shapes.get(key);
  const own = text.slice(0, norm.singleEnd).trim();
  if (shape !== undefined) {
    const prepared = { ...(shape.prepares === undefined ? {} : { prepares: shape.prepares }), ...(shape.executes === undefined ? {} : { executes: shape.executes }) };
    return { ok: true, statements: [{ text: own, command: shape.command, kind: shape.kind, tables: shape.tables, operation: new StatementOperation(shape.action, shape.attributes, own), ...prepared }] };
  }
  const result = exact(text, scope);
  // Learn the shape only when the classifier agrees this is one statement with exactly this text,
  // and nothing beyond its operation matters (a refusal or a search_path change is not a shape).
  if (result.ok && result.statements.length === 1 && result.statements[0]!.text === own && result.statements[0]!.refusal === undefined && result.statements[0]!.searchPath === undefined) {
    const c = result.statements[0]!;
    shapes.remember(key, {
      command: c.command,
      kind: c.kind,
      tables: c.tables,
      action: c.operation.action,
      attributes: c.operation.attributes,
      ...(c.prepares === undefined ? {} : { prepares: c.prepares }),
      ...(c.executes === undefined ? {} : { executes: c.executes }),
    });
  }
  return result;
}

const byClassification = new WeakMap<object, Classification>();

function exact(text: string, scope?: SqlScope): Classification {
  const c = classifySql(text, scope);
  if (!c.ok) return c;
  let out = byClassification.get(c);
  if (out === undefined) {
    out = { ok: true, statements: c.statements.map(classifiedOf) };
    byClassification.set(c, out);
  }
  return out;
}

function refusalMessage(decision: Decision): string {
  const rule = decision.reasons.length > 0 ? ` (rule ${decision.reasons.join(', ')})` : ` (${decision.code})`;
  return `gatehouse: ${decision.message || 'denied by policy'}${rule}`;
}

/**
 * Judges every statement of one SQL text in order, through the session (which records denials and
 * waits for approvals). The first denial refuses the text from that statement on: the statements
 * before it (`statements` of the judgment) are allowed, the denied one and the rest are not.
 *
 * Synchronous (returns the Judgment itself) when every decision is a plain allow or a denial that
 * needs no durable wait; a Promise only when something must wait (approval, strict denial,
 * unparsed text). Callers check `instanceof Promise`.
 */
/**
 * `clientGone` (lazy, see AuthorizeOptions.signal) aborts when the client disconnects while a
 * statement waits for approval, so the approval is cancelled and recorded.
 */
export function judgeSql(session: GatewaySession, text: string, rules: SqlJudgmentRules, clientGone?: AuthorizeOptions['signal']): Judgment | Promise<Judgment> {
  if (text.length > rules.maxStatementLength) {
    const error = `the text is ${text.length} characters long, more than maxStatementLength (${rules.maxStatementLength}), so it is not parsed`;
    return judgeUnparsed(session, text, error, rules.unparsed, clientGone);
  }
  const state = sqlSessionState(session, rules);
  let classification = classifyForJudgment(text, state.scope);
  if (!classification.ok) return judgeUnparsed(session, text, classification.error, rules.unparsed, clientGone);
  let statements = classification.statements;
  // A search_path set here may apply to the statements after it (same text): note every path the
  // text sets first, and judge the whole text in the widened scope (resolution only lists more).
  let tooManyPaths: number | undefined;
  for (let i = 0; i < statements.length; i++) {
    const path = statements[i]!.searchPath;
    if (path === undefined) continue;
    const before = state.scope;
    if (!state.noteSearchPath(path)) {
      tooManyPaths = i;
      break;
    }
    if (state.scope !== before) {
      classification = classifyForJudgment(text, state.scope);
      if (!classification.ok) return judgeUnparsed(session, text, classification.error, rules.unparsed, clientGone);
      statements = classification.statements;
    }
  }
  statements = rejudgePrepared(statements, state);
  const judged: JudgedStatement[] = [];
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i]!;
    const requestId = session.newRequestId();
    session.noteRequest(requestId);
    const refusal = i === tooManyPaths ? TOO_MANY_PATHS : (stmt.refusal ?? readOnlyRefusal(stmt, rules));
    if (refusal !== undefined) return refuseStatement(session, stmt, refusal, requestId, judged);
    const decision = session.admit(stmt.operation, requestId, undefined, clientGone === undefined ? undefined : { signal: clientGone });
    if (decision instanceof Promise) return judgeRest(session, statements, i, requestId, decision, judged, rules, clientGone, tooManyPaths);
    if (decision.effect !== 'allow') return { allowed: false, statements: judged, refusal: refusalMessage(decision) };
    if (stmt.prepares !== undefined) state.notePrepared(stmt.prepares, stmt.text);
    judged.push({ requestId, text: stmt.text, command: stmt.command, kind: stmt.kind, tables: stmt.tables });
  }
  return { allowed: true, statements: judged };
}

/** The asynchronous rest of judgeSql from statement `from`, whose admission (`first`, under `firstRequestId`) is under way. */
async function judgeRest(
  session: GatewaySession,
  statements: readonly Classified[],
  from: number,
  firstRequestId: string,
  first: Promise<Decision>,
  judged: JudgedStatement[],
  rules: SqlJudgmentRules,
  clientGone?: AuthorizeOptions['signal'],
  tooManyPaths?: number,
): Promise<Judgment> {
  const options = clientGone === undefined ? undefined : { signal: clientGone };
  for (let i = from; i < statements.length; i++) {
    const stmt = statements[i]!;
    let requestId = firstRequestId;
    let admitted: Decision | Promise<Decision> = first;
    if (i > from) {
      requestId = session.newRequestId();
      session.noteRequest(requestId);
      // (Statement `from` was checked by judgeSql before its admission started.)
      const refusal = i === tooManyPaths ? TOO_MANY_PATHS : (stmt.refusal ?? readOnlyRefusal(stmt, rules));
      if (refusal !== undefined) return refuseStatement(session, stmt, refusal, requestId, judged);
      admitted = session.admit(stmt.operation, requestId, undefined, options);
    }
    const decision = await admitted;
    if (decision.effect !== 'allow') return { allowed: false, statements: judged, refusal: refusalMessage(decision) };
    if (stmt.prepares !== undefined) sqlSessionState(session, rules).notePrepared(stmt.prepares, stmt.text);
    judged.push({ requestId, text: stmt.text, command: stmt.command, kind: stmt.kind, tables: stmt.tables });
  }
  return { allowed: true, statements: judged };
}

/**
 * PostgreSQL plans a prepared statement again when the search_path changed, so a name in it may
 * now resolve to another table. An `EXECUTE name` of a statement `PREPARE`d in an older generation
 * of the session's scope is judged as that `PREPARE` in the current scope (its action, kind and
 * tables), in place of the plain `sql:execute`. A statement that runs a stale prepared statement
 * in any other way (`CREATE TABLE ... AS EXECUTE`), or one the session forgot, is refused.
 */
function rejudgePrepared(statements: readonly Classified[], state: SqlSessionState): readonly Classified[] {
  let out: Classified[] | undefined;
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i]!;
    if (stmt.executes === undefined) continue;
    let replaced: Classified | undefined;
    for (const name of stmt.executes) {
      const prepared = state.preparedSql(name);
      if (prepared === undefined) {
        // Never prepared (the server answers "does not exist"), unless the session forgot it.
        if (state.preparedForgotten && state.generation > 0) replaced = { ...stmt, refusal: STALE_PREPARED };
        continue;
      }
      if (prepared.generation === state.generation) continue;
      const again = stmt.executes.length === 1 && (stmt.command === 'execute' || stmt.command === 'explain') ? classifyForJudgment(prepared.text, state.scope) : undefined;
      if (again === undefined || !again.ok || again.statements.length !== 1) {
        replaced = { ...stmt, refusal: STALE_PREPARED };
        break;
      }
      const p = again.statements[0]!;
      replaced = { text: stmt.text, command: stmt.command, kind: p.kind, tables: p.tables, operation: p.operation, ...(p.refusal === undefined ? {} : { refusal: p.refusal }) };
    }
    if (replaced !== undefined) (out ??= [...statements])[i] = replaced;
  }
  return out ?? statements;
}

const STALE_PREPARED: SqlRefusal = {
  code: DECISION_CODES.postgresSearchPath,
  message: 'gatehouse: this statement runs a prepared statement judged before the search_path changed, and cannot be judged again here; PREPARE it again',
};

const TOO_MANY_PATHS: SqlRefusal = {
  code: DECISION_CODES.postgresSearchPath,
  message: `gatehouse: this session already set ${MAX_SEARCH_PATHS} different search_paths; further changes are refused (reconnect to start afresh)`,
};

const READ_ONLY: SqlRefusal = {
  code: DECISION_CODES.postgresReadOnly,
  message: 'gatehouse: this session is read-only (its upstream role is configured readOnly); a statement that may make a transaction or the session read-write is refused',
};

function readOnlyRefusal(stmt: Classified, rules: SqlJudgmentRules): SqlRefusal | undefined {
  if (rules.readOnly !== true) return undefined;
  const flags = stmt.operation.attributes.flags;
  return Array.isArray(flags) && flags.includes('read_write') ? READ_ONLY : undefined;
}

const DENIAL_COUNTERS: Partial<Record<string, string>> = {
  [DECISION_CODES.postgresLexingSetting]: 'denied.lexing_setting',
  [DECISION_CODES.postgresSearchPath]: 'denied.search_path',
  [DECISION_CODES.postgresSetConfigName]: 'denied.set_config_name',
  [DECISION_CODES.postgresCrossDatabase]: 'denied.cross_database',
  [DECISION_CODES.postgresReadOnly]: 'denied.read_only',
};

/**
 * A statement the gateway refuses whatever policy says (a lexing setting, a search_path change it
 * cannot follow, another database's name): recorded as a denial with the refusal's code.
 */
async function refuseStatement(session: GatewaySession, stmt: Classified, refusal: SqlRefusal, requestId: string, judged: JudgedStatement[]): Promise<Judgment> {
  await session.refuse(stmt.operation, refusal.code, refusal.message, requestId, { reasons: [refusal.code] });
  session.count(DENIAL_COUNTERS[refusal.code] ?? 'denied.postgres');
  return { allowed: false, statements: judged, refusal: refusal.message };
}

const UNPARSED_REASONS = { reasons: ['unparsedStatements'] } as const;

/**
 * A statement PostgreSQL's parser cannot read: `deny` refuses it without asking policy (recorded
 * as a denial); `allow` and `review` ask policy about the action `sql:unparsed` (attribute
 * `unparsed: true`); with `review` only an approval lets it through, never a plain allow: where
 * policy allows, the session is asked for an approval anyway (a policy denial still refuses).
 */
async function judgeUnparsed(session: GatewaySession, text: string, error: string, mode: UnparsedMode, clientGone?: AuthorizeOptions['signal']): Promise<Judgment> {
  const requestId = session.newRequestId();
  session.noteRequest(requestId);
  const summary = text.length > 200 ? `${text.slice(0, 199)}…` : text;
  const operation: Operation = { protocol: 'postgres', action: 'sql:unparsed', attributes: { unparsed: true, error, kind: 'other', command: 'unparsed', tables: [] }, summary };
  const statement = { requestId, text, command: 'unparsed', kind: 'other', tables: [] };
  if (mode === 'deny') {
    const message = `gatehouse: the statement could not be parsed (${error}); unparsed statements are refused on this connection`;
    await session.refuse(operation, DECISION_CODES.postgresUnparsed, message, requestId, UNPARSED_REASONS);
    session.count('denied.unparsed');
    return { allowed: false, statements: [], refusal: message, unparsed: true };
  }
  const decision = await session.admit(operation, requestId, undefined, { review: mode === 'review', signal: clientGone });
  if (decision.effect !== 'allow') return { allowed: false, statements: [], refusal: refusalMessage(decision), unparsed: true };
  // Only an approval lets an unparsed statement through under `review`, never policy alone.
  if (mode === 'review' && decision.code !== DECISION_CODES.approvalGranted) {
    const message = 'gatehouse: the statement could not be parsed and needs an approval on this connection, but none was granted';
    await session.refuse(operation, DECISION_CODES.postgresUnparsedReview, message, requestId, UNPARSED_REASONS);
    return { allowed: false, statements: [], refusal: message, unparsed: true };
  }
  return { allowed: true, statements: [statement] };
}

/**
 * Whether the server could read `text` differently once a function changed a lexing setting
 * behind the gateway's back (`standard_conforming_strings`, `backslash_quote`: only a backslash
 * matters; `client_encoding`: only bytes outside ASCII, which every client-only encoding reads
 * as ASCII). PostgreSQL reports such a change only just before the ReadyForQuery of the message
 * that made it, so the connection closes then; a text sent in the same pipeline (before that
 * answer) was already forwarded. connection.ts refuses an ambiguous text while the server still
 * owes answers for earlier messages.
 */
export function lexingAmbiguous(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c || c >= 0x80) return true;
  }
  return false;
}

const PIPELINED_MESSAGE =
  'gatehouse: a statement containing a backslash or a non-ASCII character is refused while earlier statements of this connection have not finished (a function they run could change how the server reads it); wait for their results (Sync / ReadyForQuery) and send it again';

/** Refuses a lexing-ambiguous text sent in a pipeline (lexingAmbiguous), recorded as a denial. */
export async function refusePipelined(session: GatewaySession, text: string): Promise<Judgment> {
  const requestId = session.newRequestId();
  session.noteRequest(requestId);
  const summary = text.length > 200 ? `${text.slice(0, 199)}…` : text;
  const operation: Operation = { protocol: 'postgres', action: 'sql:unparsed', attributes: { kind: 'other', command: 'pipelined', tables: [] }, summary };
  await session.refuse(operation, DECISION_CODES.postgresLexingSetting, PIPELINED_MESSAGE, requestId, { reasons: [DECISION_CODES.postgresLexingSetting] });
  session.count('denied.lexing_setting');
  return { allowed: false, statements: [], refusal: PIPELINED_MESSAGE };
}

/** The fast-path function call protocol (FunctionCall message): no statement to judge. */
const FUNCTION_CALL: Operation = { protocol: 'postgres', action: 'sql:function_call', attributes: {}, summary: 'FunctionCall' };

/**
 * Refuses a FunctionCall (it runs a function by oid outside SQL, where nothing can be judged),
 * recorded as a denial; undefined when that happened in this turn, else a promise to wait for.
 */
export function refuseFunctionCall(session: GatewaySession): Promise<void> | undefined {
  return session.refuse(FUNCTION_CALL, DECISION_CODES.postgresFunctionCall, 'the function call protocol is not supported', session.newRequestId());
}
