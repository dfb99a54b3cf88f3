import { atLeast, commandOf, type SqlKind } from './commands';
import type { SettingChange, SettingScope } from './settings';

/**
 * What one parsed statement does, read from PostgreSQL's own parse tree (libpg_query JSON), before
 * names are resolved (resolve.ts folds the called functions into the kind, in the session's scope).
 *
 * Decisions (documented in docs/policy.md):
 * - a query that contains a data-modifying statement (`WITH d AS (DELETE ...) SELECT`,
 *   `COPY (DELETE ... RETURNING) TO STDOUT`) is a write;
 * - `SELECT ... FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE` is a write: it takes row locks that
 *   block other writers, so it is judged like one;
 * - `EXPLAIN ANALYZE` runs its statement and takes that statement's kind; plain `EXPLAIN` is a read
 *   (the functions it names still count: planning may evaluate them);
 * - `COPY ... TO/FROM PROGRAM` and `COPY` to or from a server-side file are `admin`; `COPY FROM STDIN`
 *   is a write, `COPY TO STDOUT` a read;
 * - `UPDATE`/`DELETE` is unbounded unless its `WHERE` is bounded (see `bounded()`), wherever it
 *   appears (also inside a CTE).
 *
 * Literal values: classification reads the value of a literal in four places: EXPLAIN options in
 * `optionIsOn()`, the parameter name of `set_config(...)`, the schemas of `SET search_path` and
 * the value of `SET [default_]transaction_read_only` (`readWriteChange()`).
 * The judge's literal-insensitive cache (normalize.ts) is sound only while that holds: it refuses a
 * key for texts naming EXPLAIN, set_config, search_path or [default_]transaction_read_only. Reading any other literal value here
 * means updating normalize.ts (and its differential tests) too.
 */
export interface StatementFacts {
  readonly command: string;
  /** The kind from the statement's form alone; the functions it calls may raise it (resolve.ts). */
  readonly kind: SqlKind;
  /** Relations as written (name parts, lower-cased unless quoted), in reading order, without CTE names. */
  readonly relations: readonly (readonly string[])[];
  /** Called functions as written (name parts). */
  readonly calls: readonly (readonly string[])[];
  /** Schema-qualified operators (`OPERATOR(s.+)`), name parts. */
  readonly operators: readonly (readonly string[])[];
  readonly flags: readonly string[];
  readonly unbounded: boolean;
  /** Settings the statement changes (SET, RESET, ALTER ... SET, set_config). */
  readonly settings: readonly SettingChange[];
  /** `PREPARE name AS ...`: the SQL-level prepared statement's name. */
  readonly prepares?: string;
  /** Names of SQL-level prepared statements the statement runs (`EXECUTE name`, also under EXPLAIN or CREATE TABLE AS). */
  readonly executes?: readonly string[];
}

type Node = Record<string, unknown>;

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
/** DROP targets that name relations (tables and table-like objects), listed as tables. */
const DROPPED_RELATIONS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);
/** Where the `setstmt` of each ALTER ... SET statement takes effect. */
const SET_SCOPES: Readonly<Record<string, SettingScope>> = { AlterRoleSetStmt: 'role', AlterDatabaseSetStmt: 'database', AlterSystemStmt: 'system' };

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nameParts(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const parts: string[] = [];
  for (const n of list) {
    if (!isNode(n) || !isNode(n.String) || typeof n.String.sval !== 'string') return [];
    parts.push(n.String.sval);
  }
  return parts;
}

/** Everything of interest anywhere in a statement's tree, collected in one pass. */
class TreeFacts {
  /** Relation names with where they occur in the text, to list them in reading order. */
  readonly tables: { parts: string[]; at: number }[] = [];
  readonly ctes = new Set<string>();
  readonly calls: string[][] = [];
  readonly operators: string[][] = [];
  readonly settings: SettingChange[] = [];
  readonly executes: string[] = [];
  writes = false;
  unbounded = false;
  locking = false;
  /** Something that may make a transaction or the session read-write (readWriteChange()). */
  readWrite = false;

  constructor(private readonly top: string) {}

  /**
   * `defining` is true below a definition that stores statements without running them (the
   * `BEGIN ATOMIC` body of CREATE FUNCTION, the actions of CREATE RULE): their tables and functions
   * count, their writes and missing WHERE clauses do not happen now.
   */
  visit(value: unknown, key: string, depth: number, defining = false): void {
    if (Array.isArray(value)) {
      for (const item of value) this.visit(item, key, depth, defining);
      return;
    }
    if (!isNode(value)) return;
    if (typeof value.relname === 'string') this.addTable(value);
    if (key === 'FuncCall' || key === 'funccall') this.addFunction(value);
    if (key === 'A_Expr') this.addOperator(value.name);
    if (key === 'CommonTableExpr' && typeof value.ctename === 'string') this.ctes.add(value.ctename);
    if (key === 'ExecuteStmt' && typeof value.name === 'string') this.executes.push(value.name);
    if (key === 'VariableSetStmt') this.addSetting(value, depth === 0 ? 'session' : 'function');
    if (key === 'setstmt') this.addSetting(value, SET_SCOPES[this.top] ?? 'session');
    if ((key === 'TransactionStmt' || key === 'VariableSetStmt' || key === 'setstmt') && readWriteChange(value)) this.readWrite = true;
    if (DML.has(key) && !defining) {
      if (depth > 0) this.writes = true;
      if ((key === 'UpdateStmt' || key === 'DeleteStmt') && !bounded(value)) this.unbounded = true;
      if (key === 'MergeStmt' && mergeUnbounded(value)) this.unbounded = true;
    }
    const definition = defining || key === 'CreateFunctionStmt' || key === 'RuleStmt';
    for (const k in value) {
      const v = value[k];
      if (k === 'lockingClause' && Array.isArray(v) && v.length > 0 && !definition) this.locking = true;
      if (typeof v === 'object' && v !== null) this.visit(v, k, depth + 1, definition);
    }
  }

  private addTable(rangeVar: Node): void {
    const parts = [rangeVar.catalogname, rangeVar.schemaname, rangeVar.relname].filter((p): p is string => typeof p === 'string' && p !== '');
    this.tables.push({ parts, at: typeof rangeVar.location === 'number' ? rangeVar.location : Number.MAX_SAFE_INTEGER });
  }

  private addFunction(call: Node): void {
    const parts = nameParts(call.funcname);
    if (parts.length === 0) return;
    this.calls.push(parts);
    // Any function named set_config counts as the built-in one (a schema-qualified one might be it).
    if (parts[parts.length - 1] === 'set_config') {
      const first = Array.isArray(call.args) ? literalText(call.args[0]) : undefined;
      this.settings.push({ name: first?.toLowerCase(), scope: 'session', viaFunction: true, reset: false });
      // Whatever the value (it may be computed): the gateway cannot tell it stays on.
      if (first !== undefined && READ_ONLY_SETTINGS.has(first.toLowerCase())) this.readWrite = true;
    }
  }

  private addOperator(name: unknown): void {
    const parts = nameParts(name);
    if (parts.length > 1) this.operators.push(parts);
  }

  private addSetting(set: Node, scope: SettingScope): void {
    const kind = String(set.kind);
    if (kind === 'VAR_RESET_ALL') {
      this.settings.push({ name: undefined, scope, viaFunction: false, reset: true });
      return;
    }
    if (typeof set.name !== 'string') return;
    const reset = kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT';
    let values: string[] | undefined;
    if (!reset && Array.isArray(set.args)) {
      values = [];
      for (const a of set.args) {
        const text = literalText(a);
        if (text === undefined) {
          values = undefined;
          break;
        }
        values.push(text);
      }
    }
    this.settings.push({ name: set.name.toLowerCase(), scope, viaFunction: false, reset, ...(values === undefined ? {} : { values }) });
  }

  /** Relations in order of first mention, without the names of the statement's own CTEs. */
  relationList(): string[][] {
    const mentioned = this.tables.filter((t) => !(t.parts.length === 1 && this.ctes.has(t.parts[0]!))).sort((a, b) => a.at - b.at);
    return uniqueParts(mentioned.map((t) => t.parts));
  }
}

/** The settings that keep a transaction (and the session's next ones) read-only. */
export const READ_ONLY_SETTINGS: ReadonlySet<string> = new Set(['transaction_read_only', 'default_transaction_read_only']);

/** PostgreSQL's spellings of true (parse_bool: prefixes of true/yes, on, 1; case-insensitive). */
const TRUE_SPELLINGS: ReadonlySet<string> = new Set(['t', 'tr', 'tru', 'true', 'y', 'ye', 'yes', 'on', '1']);

/**
 * Whether a TransactionStmt (`BEGIN | START TRANSACTION ... READ WRITE`) or VariableSetStmt may
 * leave a transaction or the session read-write: `SET TRANSACTION | SESSION CHARACTERISTICS AS
 * TRANSACTION READ WRITE`; `SET [LOCAL] transaction_read_only | default_transaction_read_only` to
 * anything but a literal spelling of true (`off`, `false`, `0`, `DEFAULT`, ...; a value the gateway
 * cannot read counts as off: fail closed); `RESET` of either, and `RESET ALL`. Checked wherever the
 * statement sets it (session, `ALTER ROLE | DATABASE | SYSTEM ... SET`, a function's SET clause).
 */
function readWriteChange(node: Node): boolean {
  if (Array.isArray(node.options) || node.kind === 'VAR_SET_MULTI') {
    const items = Array.isArray(node.options) ? node.options : Array.isArray(node.args) ? node.args : [];
    return items.some((o: unknown) => {
      const def = isNode(o) && isNode(o.DefElem) ? o.DefElem : undefined;
      return def !== undefined && def.defname === 'transaction_read_only' && !literallyTrue([def.arg]);
    });
  }
  if (node.kind === 'VAR_RESET_ALL') return true;
  if (typeof node.name !== 'string' || !READ_ONLY_SETTINGS.has(node.name.toLowerCase())) return false;
  if (node.kind !== 'VAR_SET_VALUE') return true;
  return !literallyTrue(Array.isArray(node.args) ? node.args : []);
}

/** One literal argument that PostgreSQL reads as boolean true. */
function literallyTrue(args: readonly unknown[]): boolean {
  if (args.length !== 1) return false;
  const a = args[0];
  if (isNode(a) && isNode(a.A_Const) && isNode(a.A_Const.boolval)) return a.A_Const.boolval.boolval === true;
  const text = literalText(a);
  return text !== undefined && TRUE_SPELLINGS.has(text.toLowerCase());
}

/** The text of a string or numeric literal (also under a cast); undefined for anything else. */
function literalText(node: unknown): string | undefined {
  if (!isNode(node)) return undefined;
  if (isNode(node.TypeCast)) return literalText(node.TypeCast.arg);
  const c = isNode(node.A_Const) ? node.A_Const : undefined;
  if (c === undefined) return undefined;
  if (isNode(c.sval)) return typeof c.sval.sval === 'string' ? c.sval.sval : '';
  if (isNode(c.ival)) return String(c.ival.ival ?? 0);
  if (isNode(c.fval)) return typeof c.fval.fval === 'string' ? c.fval.fval : undefined;
  return undefined;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

function uniqueParts(items: readonly string[][]): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const parts of items) {
    const key = parts.join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(parts);
  }
  return out;
}

/**
 * A bounded UPDATE/DELETE: its WHERE restricts a column of the target table by a literal or a
 * parameter, so that no constant folding can make it true for every row. Precisely, the WHERE is
 * bounded when it is
 * - `WHERE CURRENT OF cursor` (one row);
 * - a restriction `col = v`, `v = col`, `col IN (v, ...)`, `col BETWEEN v AND v`,
 *   `col BETWEEN SYMMETRIC v AND v` or `col = ANY(v | ARRAY[v, ...])`, where `col` is a column
 *   reference of the target table and each `v` a non-NULL literal or a `$n` parameter (each
 *   possibly cast);
 * - an AND of which at least one operand is bounded, or an OR of which every operand is bounded.
 * Everything else is unbounded: a missing WHERE, constants (`true`, `1 = 1`, `1 < 2`,
 * `true OR false`), `col = col`, one-sided ranges (`col > 0`), `<>`, NOT, IS [NOT] NULL,
 * subqueries, functions of the column. A column of the target is written `col` (only when the
 * statement has no FROM/USING, where a bare name could belong to another table), `alias.col`
 * (when the target has an alias) or `table.col` / `schema.table.col` (when it has none).
 */
function bounded(stmt: Node): boolean {
  const where = stmt.whereClause;
  if (!isNode(where)) return false;
  const target = isNode(stmt.relation) ? stmt.relation : undefined;
  if (target === undefined) return false;
  const others = (Array.isArray(stmt.fromClause) && stmt.fromClause.length > 0) || (Array.isArray(stmt.usingClause) && stmt.usingClause.length > 0);
  const qualifiers: string[] = [];
  const alias = isNode(target.alias) && typeof target.alias.aliasname === 'string' ? target.alias.aliasname : undefined;
  if (alias !== undefined) qualifiers.push(alias);
  else {
    const rel = String(target.relname);
    qualifiers.push(rel);
    if (typeof target.schemaname === 'string') qualifiers.push(`${target.schemaname}.${rel}`);
  }
  const isColumn = (node: unknown): boolean => {
    if (!isNode(node) || !isNode(node.ColumnRef)) return false;
    const fields = nameParts(node.ColumnRef.fields);
    if (fields.length === 0) return false;
    if (fields.length === 1) return !others;
    return qualifiers.includes(fields.slice(0, -1).join('.'));
  };
  return restricts(where, isColumn);
}

/**
 * A MERGE updates or deletes every target row its ON condition matches: it is unbounded when a
 * `WHEN MATCHED [AND cond] THEN UPDATE | DELETE` clause is bounded neither by the ON condition nor
 * by its own `AND` condition, each read as an UPDATE's WHERE (`bounded()`) with the source as
 * another table (so a bare column name does not count). `ON t.id = s.id` is a join, not a bound:
 * the source can hold every id. `WHEN NOT MATCHED [BY TARGET] ... INSERT` and `DO NOTHING` change no
 * existing row.
 */
function mergeUnbounded(stmt: Node): boolean {
  const clauses = Array.isArray(stmt.mergeWhenClauses) ? stmt.mergeWhenClauses : [];
  const asWhere = (condition: unknown): boolean => bounded({ relation: stmt.relation, whereClause: condition, usingClause: [stmt.sourceRelation ?? {}] });
  let onBounded: boolean | undefined;
  for (const c of clauses) {
    const clause = isNode(c) && isNode(c.MergeWhenClause) ? c.MergeWhenClause : undefined;
    if (clause === undefined) return true;
    if (clause.commandType !== 'CMD_UPDATE' && clause.commandType !== 'CMD_DELETE') continue;
    if (asWhere(clause.condition)) continue;
    // WHEN NOT MATCHED BY SOURCE (PostgreSQL 17) changes the rows the ON condition does not match:
    // only its own condition can bound it.
    if (clause.matchKind !== 'MERGE_WHEN_MATCHED') return true;
    onBounded ??= asWhere(stmt.joinCondition);
    if (!onBounded) return true;
  }
  return false;
}

const RESTRICTING_OPS = new Set(['=']);

function isValue(node: unknown): boolean {
  if (!isNode(node)) return false;
  if (isNode(node.TypeCast)) return isValue(node.TypeCast.arg);
  if (isNode(node.ParamRef)) return true;
  return isNode(node.A_Const) && node.A_Const.isnull !== true;
}

function listOfValues(node: unknown, min: number): boolean {
  const items = isNode(node) && isNode(node.List) && Array.isArray(node.List.items) ? node.List.items : undefined;
  return items !== undefined && items.length >= min && items.every(isValue);
}

function restricts(node: Node, isColumn: (n: unknown) => boolean): boolean {
  if (isNode(node.CurrentOfExpr)) return true;
  if (isNode(node.BoolExpr)) {
    const args = Array.isArray(node.BoolExpr.args) ? node.BoolExpr.args.filter(isNode) : [];
    if (args.length === 0) return false;
    if (node.BoolExpr.boolop === 'AND_EXPR') return args.some((a) => restricts(a, isColumn));
    if (node.BoolExpr.boolop === 'OR_EXPR') return args.every((a) => restricts(a, isColumn));
    return false;
  }
  const e = isNode(node.A_Expr) ? node.A_Expr : undefined;
  if (e === undefined) return false;
  const op = operatorName(e.name);
  switch (e.kind) {
    case 'AEXPR_OP':
      return op !== undefined && RESTRICTING_OPS.has(op) && ((isColumn(e.lexpr) && isValue(e.rexpr)) || (isValue(e.lexpr) && isColumn(e.rexpr)));
    case 'AEXPR_IN':
      return op === '=' && isColumn(e.lexpr) && listOfValues(e.rexpr, 1);
    case 'AEXPR_BETWEEN':
    case 'AEXPR_BETWEEN_SYM':
      return isColumn(e.lexpr) && listOfValues(e.rexpr, 2);
    case 'AEXPR_OP_ANY': {
      if (op !== '=' || !isColumn(e.lexpr)) return false;
      const r = e.rexpr;
      if (isValue(r)) return true;
      const arr = isNode(r) && isNode(r.A_ArrayExpr) ? r.A_ArrayExpr : undefined;
      return arr !== undefined && Array.isArray(arr.elements) && arr.elements.length > 0 && arr.elements.every(isValue);
    }
    default:
      return false;
  }
}

function operatorName(name: unknown): string | undefined {
  if (!Array.isArray(name) || name.length !== 1) return undefined;
  const n: unknown = name[0];
  return isNode(n) && isNode(n.String) && typeof n.String.sval === 'string' ? n.String.sval : undefined;
}

function explainAnalyzes(options: unknown): boolean {
  if (!Array.isArray(options)) return false;
  return options.some((o) => {
    const def = isNode(o) && isNode(o.DefElem) ? o.DefElem : undefined;
    return def !== undefined && def.defname === 'analyze' && optionIsOn(def.arg);
  });
}

/** PostgreSQL's boolean option syntax (defGetBoolean); anything unrecognised counts as on (fail closed). */
function optionIsOn(arg: unknown): boolean {
  if (!isNode(arg)) return true; // bare `ANALYZE`
  if (isNode(arg.Boolean)) return arg.Boolean.boolval === true;
  if (isNode(arg.Integer)) return arg.Integer.ival !== undefined && arg.Integer.ival !== 0;
  if (isNode(arg.String)) return !['false', 'off', 'no', '0'].includes(String(arg.String.sval).toLowerCase());
  return true;
}

export function statementFacts(stmt: Node | undefined): StatementFacts {
  const entry = stmt ? Object.entries(stmt)[0] : undefined;
  if (!entry || !isNode(entry[1])) return { command: 'unknown', kind: 'other', relations: [], calls: [], operators: [], flags: [], unbounded: false, settings: [] };
  const [nodeType, node] = entry;
  const base = commandOf(nodeType, node);

  if (nodeType === 'ExplainStmt') return explainFacts(node);

  const tree = new TreeFacts(nodeType);
  tree.visit(node, nodeType, 0);
  let kind = base.kind;
  let command = base.command;
  const flags: string[] = [];
  if (tree.writes) {
    flags.push('writing_subquery');
    kind = atLeast(kind, 'write');
  }
  if (tree.locking && nodeType !== 'LockStmt') {
    flags.push('locking');
    kind = atLeast(kind, 'write');
  }
  if (nodeType === 'SelectStmt' && isNode(node.intoClause)) {
    command = 'select_into';
    kind = atLeast(kind, 'ddl');
  }
  if (nodeType === 'CopyStmt') kind = copyKind(node, kind, flags);
  if (nodeType === 'AlterTableStmt' && JSON.stringify(node.cmds ?? []).includes('"AT_ChangeOwner"')) {
    flags.push('change_owner');
    kind = 'admin';
  }
  if (nodeType === 'VariableSetStmt' && base.kind === 'admin') flags.push('set_role');
  if (tree.readWrite) flags.push('read_write');
  const relations = nodeType === 'DropStmt' ? droppedRelations(node) : tree.relationList();
  return {
    command,
    kind,
    relations,
    calls: uniqueParts(tree.calls),
    operators: uniqueParts(tree.operators),
    flags,
    unbounded: tree.unbounded,
    settings: tree.settings,
    ...(nodeType === 'PrepareStmt' && typeof node.name === 'string' ? { prepares: node.name } : {}),
    ...(tree.executes.length > 0 ? { executes: unique(tree.executes) } : {}),
  };
}

function copyKind(node: Node, kind: SqlKind, flags: string[]): SqlKind {
  if (node.is_from === true) flags.push('copy_from');
  if (node.is_program === true) {
    flags.push('copy_program');
    return 'admin';
  }
  if (typeof node.filename === 'string') {
    flags.push('copy_file');
    return 'admin';
  }
  return node.is_from === true ? atLeast(kind, 'write') : kind;
}

function droppedRelations(node: Node): string[][] {
  if (!DROPPED_RELATIONS.has(String(node.removeType)) || !Array.isArray(node.objects)) return [];
  const names = node.objects.map((o: unknown) => (isNode(o) && isNode(o.List) ? nameParts(o.List.items) : []));
  return uniqueParts(names.filter((n) => n.length > 0));
}

function explainFacts(node: Node): StatementFacts {
  const analyze = explainAnalyzes(node.options);
  const inner = statementFacts(isNode(node.query) ? node.query : undefined);
  // A plain EXPLAIN plans without running: only what the plan itself could do counts (the
  // functions it names, folded in by resolve.ts: planning may evaluate them).
  const kind: SqlKind = analyze ? atLeast(inner.kind, 'read') : 'read';
  const flags = analyze ? unique(['explain_analyze', ...inner.flags]) : [];
  return { command: 'explain', kind, relations: inner.relations, calls: inner.calls, operators: inner.operators, flags, unbounded: analyze && inner.unbounded, settings: inner.settings, ...(inner.executes === undefined ? {} : { executes: inner.executes }) };
}
