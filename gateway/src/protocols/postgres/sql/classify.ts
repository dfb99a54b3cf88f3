import type { Operation } from '../../../policy/decision';
import type { SqlKind } from './commands';
import { loadPgParser, parsePg, SqlParserFailure, SqlSyntaxError, type RawStmt } from './parser';
import { checkComplexity } from './prescan';
import { DEFAULT_SCOPE, resolveNames, type SqlRefusal, type SqlScope } from './resolve';
import { settingsVerdict } from './settings';
import { statementFacts, type StatementFacts } from './statement';
import { noteParserEvent } from './parser-events';

/** One SQL statement as policy sees it. */
export interface SqlStatement {
  /** The statement's own text (one statement of a multi-statement string), trimmed. */
  readonly text: string;
  /**
   * Lower-case command: 'select', 'insert', 'update', 'delete', 'merge', 'create_table', 'drop_table',
   * 'alter_table', 'truncate', 'grant', 'revoke', 'begin', 'commit', 'rollback', 'copy', 'set', 'show',
   * 'listen', 'notify', 'explain', 'call', 'do', ... (docs/policy.md lists them).
   */
  readonly command: string;
  readonly kind: SqlKind;
  /**
   * Relations the statement names, resolved (resolve.ts): `schema.table`; an unqualified name is
   * listed under each schema of the session's search_path(s) it could resolve to. Lower-cased unless quoted.
   */
  readonly tables: readonly string[];
  /** UPDATE/DELETE (anywhere in the statement) whose WHERE is not bounded (statement.ts `bounded()`), or MERGE (`mergeUnbounded()`). */
  readonly unbounded: boolean;
  /**
   * Functions called (always set by classifySql; optional for hand-made statements), resolved:
   * built-ins by bare name (`pg_read_file`, also for `pg_catalog.` or `db.pg_catalog.`), others
   * `schema.name`; schema-qualified operators as `operator(schema.op)`.
   */
  readonly functions?: readonly string[];
  /**
   * Facts beyond the command: 'writing_subquery', 'locking', 'explain_analyze', 'copy_from',
   * 'copy_program', 'copy_file', 'dangerous_function', 'writing_function', 'unknown_function',
   * 'reads_named_tables', 'change_owner', 'set_role', 'read_write' (may make a transaction or the
   * session read-write: refused in read-only sessions, judge.ts).
   */
  readonly flags?: readonly string[];
  /** Set when the gateway refuses the statement whatever policy says (settings.ts, resolve.ts). */
  readonly refusal?: SqlRefusal;
  /** A search_path the session may have once this statement ran (`SET search_path`); 'default' for RESET. */
  readonly searchPath?: readonly string[] | 'default';
  /** `PREPARE name AS ...`: the name (the judge re-judges the statement at EXECUTE when the session's scope widened). */
  readonly prepares?: string;
  /** SQL-level prepared statements the statement runs (`EXECUTE name`). */
  readonly executes?: readonly string[];
}

export type SqlClassification =
  | { readonly ok: true; readonly statements: readonly SqlStatement[] }
  | { readonly ok: false; readonly error: string };

export type { SqlKind };

/** Bound on cached classifications; entries not used for a while leave first. */
export const SQL_CACHE_ENTRIES = 2000;
/** Longer texts (bulk INSERTs, generated SQL) are classified every time rather than pinned in memory. */
export const SQL_CACHE_MAX_TEXT = 16 * 1024;
const MAX_ERROR = 200;
const MAX_SUMMARY = 200;

/** One statement as parsed, before names are resolved in a session's scope. */
interface ParsedStatement {
  readonly text: string;
  readonly facts: StatementFacts;
}

type Parsed = { readonly ok: true; readonly statements: readonly ParsedStatement[] } | { readonly ok: false; readonly error: string };

/**
 * Recent parses in two generations (young, old): a hit is one Map lookup; a hit in the
 * old generation is copied forward; when the young one holds half the bound it becomes the old one.
 * Why not an exact LRU that re-inserts on every hit: on V8 a delete + set into a Map of thousands
 * of entries keeps compacting the table (~16 µs per hit measured at 2000 entries, ~0.01 µs per get).
 */
let young = new Map<string, Parsed>();
let old = new Map<string, Parsed>();

function remember(sql: string, result: Parsed): void {
  young.set(sql, result);
  if (young.size >= SQL_CACHE_ENTRIES / 2) {
    old = young;
    young = new Map();
  }
}

/** Each parse's classification per scope key (almost always one: the sessions' default scope). */
const resolved = new WeakMap<Parsed, Map<string, SqlClassification>>();

/** Loads PostgreSQL's parser (WebAssembly); idempotent. Await once at gateway start. */
export function loadSqlParser(): Promise<void> {
  return loadPgParser();
}

/**
 * Splits SQL text into statements and classifies each with PostgreSQL's own grammar. Synchronous
 * after loadSqlParser(); throws GatehouseError GH_ERR_SQL_PARSER_NOT_LOADED before. Invalid SQL is
 * `{ ok: false }` with the parser's message: callers must refuse it (fail closed), not forward it.
 * So is a statement the parser cannot finish (nested too deeply: the WebAssembly stack overflows),
 * after which the parser instance is replaced; while the replacement loads (tens of ms), every
 * uncached statement is `{ ok: false }` too.
 */
export function classifySql(sql: string, scope: SqlScope = DEFAULT_SCOPE): SqlClassification {
  const parsed = parsedOf(sql);
  if (!parsed.ok) return parsed;
  let byScope = resolved.get(parsed);
  if (byScope === undefined) {
    byScope = new Map();
    resolved.set(parsed, byScope);
  }
  let result = byScope.get(scope.key);
  if (result === undefined) {
    result = Object.freeze({ ok: true, statements: Object.freeze(parsed.statements.map((p) => classified(p, scope))) });
    // Scopes are few (a session that sets search_path makes one more); bound them anyway.
    if (byScope.size >= 16) byScope.clear();
    byScope.set(scope.key, result);
  }
  return result;
}

function parsedOf(sql: string): Parsed {
  const hit = young.get(sql);
  if (hit !== undefined) return hit;
  const older = old.get(sql);
  if (older !== undefined) {
    remember(sql, older);
    return older;
  }
  let result: Parsed;
  try {
    result = parseUncached(sql);
  } catch (e) {
    if (!(e instanceof SqlParserFailure)) throw e;
    noteParserEvent(e.permanent ? 'crash' : 'unavailable', e.message);
    result = Object.freeze({ ok: false, error: e.message });
    // A restart in progress is transient: the same text must be classified again later.
    if (!e.permanent) return result;
  }
  if (sql.length <= SQL_CACHE_MAX_TEXT) remember(sql, result);
  return result;
}

function classified(p: ParsedStatement, scope: SqlScope): SqlStatement {
  const f = p.facts;
  const names = resolveNames(f.kind, f.flags, f.relations, f.calls, f.operators, scope);
  const verdict = settingsVerdict(f.settings);
  const refusal = verdict.refusal ?? names.refusal;
  return Object.freeze({
    text: p.text,
    command: f.command,
    kind: names.kind,
    tables: Object.freeze(names.tables),
    unbounded: f.unbounded,
    functions: Object.freeze(names.functions),
    flags: Object.freeze(names.flags),
    ...(refusal === undefined ? {} : { refusal }),
    ...(verdict.searchPath === undefined ? {} : { searchPath: verdict.searchPath }),
    ...(f.prepares === undefined ? {} : { prepares: f.prepares }),
    ...(f.executes === undefined ? {} : { executes: f.executes }),
  });
}

/** Empties the classification cache (tests, and a parser reload). */
export function clearSqlCache(): void {
  young = new Map();
  old = new Map();
}

function parseUncached(sql: string): Parsed {
  // Limits checked before the parser sees the text: nesting deep enough to overflow its stack.
  const tooComplex = checkComplexity(sql);
  if (tooComplex !== undefined) {
    noteParserEvent('too_complex', tooComplex);
    return Object.freeze({ ok: false, error: tooComplex });
  }
  let stmts: readonly RawStmt[];
  try {
    stmts = parsePg(sql).stmts ?? [];
  } catch (e) {
    if (e instanceof SqlSyntaxError) {
      noteParserEvent('syntax_error', e.message);
      return Object.freeze({ ok: false, error: shorten(e.message, MAX_ERROR) });
    }
    throw e;
  }
  const texts = statementTexts(sql, stmts);
  const statements = stmts.map((raw, i) => Object.freeze({ text: texts[i] ?? '', facts: factsOf(raw) }));
  return Object.freeze({ ok: true, statements: Object.freeze(statements) });
}

function factsOf(raw: RawStmt): StatementFacts {
  try {
    return statementFacts(raw.stmt);
  } catch (e) {
    // A tree deep enough to exhaust the JavaScript stack: refuse, as the parser would have.
    if (e instanceof RangeError) throw new SqlParserFailure('the statement is too complex to classify (nested too deeply)', true);
    throw e;
  }
}

/** Each statement's own text; the parser reports byte offsets into the UTF-8 encoding. */
function statementTexts(sql: string, stmts: readonly RawStmt[]): string[] {
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(sql);
  const bytes = ascii ? undefined : Buffer.from(sql, 'utf8');
  const total = bytes ? bytes.length : sql.length;
  return stmts.map((s) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : total;
    const text = bytes ? bytes.subarray(start, end).toString('utf8') : sql.slice(start, end);
    return text.trim();
  });
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** The operation policy judges for one statement: action `sql:<command>`, protocol `postgres`. */
export function sqlOperation(statement: SqlStatement): Operation {
  return {
    protocol: 'postgres',
    action: `sql:${statement.command}`,
    // Frozen (with frozen arrays): the policy engine keys its decision cache by this object.
    attributes: Object.freeze({
      kind: statement.kind,
      command: statement.command,
      tables: Object.isFrozen(statement.tables) ? statement.tables : Object.freeze([...statement.tables]),
      unbounded: statement.unbounded,
      functions: Object.freeze([...(statement.functions ?? [])]),
      flags: Object.freeze([...(statement.flags ?? [])]),
    }),
    summary: shorten(statement.text, MAX_SUMMARY),
  };
}
