import type { Operation } from '../../../policy/decision';
import type { SqlKind } from './commands';
import { loadPgParser, parsePg, SqlParserFailure, SqlSyntaxError, type RawStmt } from './parser';
import { statementFacts } from './statement';

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
  /** Relations the statement names, schema-qualified when written so, lower-cased unless quoted. */
  readonly tables: readonly string[];
  /** UPDATE/DELETE (anywhere in the statement) without WHERE, or with a constant-true WHERE. */
  readonly unbounded: boolean;
  /** Functions called (always set by classifySql; optional for hand-made statements), as written (without a `pg_catalog.` prefix), lower-cased unless quoted. */
  readonly functions?: readonly string[];
  /**
   * Facts beyond the command: 'writing_subquery', 'locking', 'explain_analyze', 'copy_from',
   * 'copy_program', 'copy_file', 'dangerous_function', 'change_owner', 'set_role'.
   */
  readonly flags?: readonly string[];
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

/**
 * Recent classifications in two generations (young, old): a hit is one Map lookup; a hit in the
 * old generation is copied forward; when the young one holds half the bound it becomes the old one.
 * Why not an exact LRU that re-inserts on every hit: on V8 a delete + set into a Map of thousands
 * of entries keeps compacting the table (~16 µs per hit measured at 2000 entries, ~0.01 µs per get).
 */
let young = new Map<string, SqlClassification>();
let old = new Map<string, SqlClassification>();

function remember(sql: string, result: SqlClassification): void {
  young.set(sql, result);
  if (young.size >= SQL_CACHE_ENTRIES / 2) {
    old = young;
    young = new Map();
  }
}

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
export function classifySql(sql: string): SqlClassification {
  const hit = young.get(sql);
  if (hit !== undefined) return hit;
  const older = old.get(sql);
  if (older !== undefined) {
    remember(sql, older);
    return older;
  }
  let result: SqlClassification;
  try {
    result = classifyUncached(sql);
  } catch (e) {
    if (!(e instanceof SqlParserFailure)) throw e;
    result = Object.freeze({ ok: false, error: e.message });
    // A restart in progress is transient: the same text must be classified again later.
    if (!e.permanent) return result;
  }
  if (sql.length <= SQL_CACHE_MAX_TEXT) remember(sql, result);
  return result;
}

/** Empties the classification cache (tests, and a parser reload). */
export function clearSqlCache(): void {
  young = new Map();
  old = new Map();
}

function classifyUncached(sql: string): SqlClassification {
  let stmts: readonly RawStmt[];
  try {
    stmts = parsePg(sql).stmts ?? [];
  } catch (e) {
    if (e instanceof SqlSyntaxError) return Object.freeze({ ok: false, error: shorten(e.message, MAX_ERROR) });
    throw e;
  }
  const texts = statementTexts(sql, stmts);
  const statements = stmts.map((raw, i) => {
    const facts = factsOf(raw);
    return Object.freeze({
      text: texts[i] ?? '',
      command: facts.command,
      kind: facts.kind,
      tables: Object.freeze(facts.tables),
      unbounded: facts.unbounded,
      functions: Object.freeze(facts.functions),
      flags: Object.freeze(facts.flags),
    });
  });
  return Object.freeze({ ok: true, statements: Object.freeze(statements) });
}

function factsOf(raw: RawStmt): ReturnType<typeof statementFacts> {
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
