import { commandOf, type SqlKind } from './commands';
import { builtinName, isDangerousFunction } from './functions';

/**
 * What one parsed statement does, read from PostgreSQL's own parse tree (libpg_query JSON).
 *
 * Decisions (documented in docs/policy.md):
 * - a query that contains a data-modifying statement (`WITH d AS (DELETE ...) SELECT`,
 *   `COPY (DELETE ... RETURNING) TO STDOUT`) is a write;
 * - `SELECT ... FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE` is a write: it takes row locks that
 *   block other writers, so it is judged like one;
 * - `EXPLAIN ANALYZE` runs its statement and takes that statement's kind; plain `EXPLAIN` is a read;
 * - a call of a known-dangerous function makes any statement `admin`;
 * - `COPY ... TO/FROM PROGRAM` and `COPY` to or from a server-side file are `admin`; `COPY FROM STDIN`
 *   is a write, `COPY TO STDOUT` a read;
 * - `UPDATE`/`DELETE` without `WHERE`, or with a constant-true `WHERE` (`true`, `1 = 1`), is unbounded,
 *   wherever it appears (also inside a CTE).
 *
 * Literal values: classification reads the value of a numeric or string literal in exactly two
 * places, constant equality in `bounded()` and EXPLAIN options in `optionIsOn()`. The judge's
 * literal-insensitive cache (normalize.ts) is sound only while that holds: reading any other
 * literal value here means updating normalize.ts (and its differential tests) too.
 */
export interface StatementFacts {
  readonly command: string;
  readonly kind: SqlKind;
  readonly tables: readonly string[];
  readonly functions: readonly string[];
  readonly flags: readonly string[];
  readonly unbounded: boolean;
}

type Node = Record<string, unknown>;

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
/** DROP targets that name relations (tables and table-like objects), listed as tables. */
const DROPPED_RELATIONS = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);
const RANK: Readonly<Record<SqlKind, number>> = { other: 0, transaction: 0, read: 1, write: 2, ddl: 3, admin: 4 };

function atLeast(kind: SqlKind, floor: SqlKind): SqlKind {
  return RANK[kind] >= RANK[floor] ? kind : floor;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Everything of interest anywhere in a statement's tree, collected in one pass. */
class TreeFacts {
  /** Relation names with where they occur in the text, to list them in reading order. */
  readonly tables: { name: string; at: number }[] = [];
  readonly ctes = new Set<string>();
  readonly functions: string[] = [];
  writes = false;
  unbounded = false;
  locking = false;

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
    if (key === 'FuncCall' || key === 'funccall') this.addFunction(value.funcname);
    if (key === 'CommonTableExpr' && typeof value.ctename === 'string') this.ctes.add(value.ctename);
    if (DML.has(key) && !defining) {
      if (depth > 0) this.writes = true;
      if ((key === 'UpdateStmt' || key === 'DeleteStmt') && !bounded(value.whereClause)) this.unbounded = true;
    }
    const definition = defining || key === 'CreateFunctionStmt' || key === 'RuleStmt';
    for (const [k, v] of Object.entries(value)) {
      if (k === 'lockingClause' && Array.isArray(v) && v.length > 0 && !definition) this.locking = true;
      if (typeof v === 'object' && v !== null) this.visit(v, k, depth + 1, definition);
    }
  }

  private addTable(rangeVar: Node): void {
    const parts = [rangeVar.catalogname, rangeVar.schemaname, rangeVar.relname].filter((p): p is string => typeof p === 'string' && p !== '');
    this.tables.push({ name: parts.join('.'), at: typeof rangeVar.location === 'number' ? rangeVar.location : Number.MAX_SAFE_INTEGER });
  }

  private addFunction(funcname: unknown): void {
    if (!Array.isArray(funcname)) return;
    const parts = funcname.map((n) => (isNode(n) && isNode(n.String) ? n.String.sval : undefined)).filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) this.functions.push(builtinName(parts.join('.')));
  }

  /** Tables in order of first mention, without the names of the statement's own CTEs. */
  tableList(): string[] {
    const mentioned = this.tables.filter((t) => !this.ctes.has(t.name)).sort((a, b) => a.at - b.at);
    return unique(mentioned.map((t) => t.name));
  }
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** A WHERE clause that limits rows: present and not a constant truth. */
function bounded(where: unknown): boolean {
  if (!isNode(where)) return false;
  const constant = isNode(where.A_Const) ? where.A_Const : undefined;
  if (constant && isNode(constant.boolval)) return constant.boolval.boolval !== true;
  const expr = isNode(where.A_Expr) ? where.A_Expr : undefined;
  if (expr && expr.kind === 'AEXPR_OP' && operatorName(expr.name) === '=' && isNode(expr.lexpr) && isNode(expr.rexpr)) {
    const l = constantValue(expr.lexpr);
    const r = constantValue(expr.rexpr);
    if (l !== undefined && l === r) return false;
  }
  return true;
}

function operatorName(name: unknown): string | undefined {
  if (!Array.isArray(name) || name.length !== 1) return undefined;
  const n: unknown = name[0];
  return isNode(n) && isNode(n.String) && typeof n.String.sval === 'string' ? n.String.sval : undefined;
}

/** A comparable rendering of a literal constant, without its location; undefined for anything else. */
function constantValue(node: Node): string | undefined {
  if (!isNode(node.A_Const)) return undefined;
  const { location: _ignored, ...value } = node.A_Const;
  return JSON.stringify(value);
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
  if (!entry || !isNode(entry[1])) return { command: 'unknown', kind: 'other', tables: [], functions: [], flags: [], unbounded: false };
  const [nodeType, node] = entry;
  const base = commandOf(nodeType, node);

  if (nodeType === 'ExplainStmt') return explainFacts(node);

  const tree = new TreeFacts();
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
  const tables = nodeType === 'DropStmt' ? droppedRelations(node) : tree.tableList();
  const functions = unique(tree.functions);
  if (functions.some(isDangerousFunction)) {
    flags.push('dangerous_function');
    kind = 'admin';
  }
  return { command, kind, tables, functions, flags, unbounded: tree.unbounded };
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

function droppedRelations(node: Node): string[] {
  if (!DROPPED_RELATIONS.has(String(node.removeType)) || !Array.isArray(node.objects)) return [];
  const names = node.objects.map((o: unknown) => {
    const items = isNode(o) && isNode(o.List) && Array.isArray(o.List.items) ? o.List.items : [];
    return items
      .map((i: unknown) => (isNode(i) && isNode(i.String) ? i.String.sval : undefined))
      .filter((p): p is string => typeof p === 'string')
      .join('.');
  });
  return unique(names.filter((n) => n !== ''));
}

function explainFacts(node: Node): StatementFacts {
  const analyze = explainAnalyzes(node.options);
  const inner = statementFacts(isNode(node.query) ? node.query : undefined);
  // A plain EXPLAIN plans without running: only what the plan itself could do counts.
  let kind: SqlKind = analyze ? atLeast(inner.kind, 'read') : 'read';
  const flags = analyze ? ['explain_analyze', ...inner.flags] : inner.flags.filter((f) => f === 'dangerous_function');
  if (inner.functions.some(isDangerousFunction)) kind = 'admin';
  return { command: 'explain', kind, tables: inner.tables, functions: inner.functions, flags: unique(flags), unbounded: analyze && inner.unbounded };
}
