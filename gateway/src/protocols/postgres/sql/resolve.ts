import { DECISION_CODES, type DecisionCode } from '../../../policy/decision';
import { builtinClass, TABLE_READING_FUNCTIONS, type FunctionClass } from './functions';
import { atLeast, type SqlKind } from './commands';

/**
 * Name resolution: what the relations and functions a statement names are, as the server will
 * resolve them, without asking the server's catalog.
 *
 * - A three-part name (`db.schema.name`) is reduced to `schema.name` when `db` is the connected
 *   database; any other catalog is refused (PostgreSQL has no cross-database references either).
 * - A schema-qualified name is `schema.name` (identifiers are already lower-cased unless quoted,
 *   so `"pg_catalog"."pg_read_file"` and `PG_CATALOG.pg_read_file` are one name).
 * - An unqualified relation is listed under every schema it could resolve to in any search_path
 *   the session may have (SqlScope.searchPaths): `accounts` → `public.accounts` by default, and
 *   `pg_catalog.<name>` too for names starting with `pg_` (every relation in pg_catalog does).
 *   Listing more names than the server reads fails closed; listing fewer would not.
 * - A function is the built-in (judged by functions.ts) when it is qualified with `pg_catalog`, or
 *   unqualified and every possible search_path searches pg_catalog first (PostgreSQL searches it
 *   first unless the path names it later). Anything else is judged as an unknown function.
 *
 * Residual, documented in docs/postgres.md: overload resolution may pick a same-named function of
 * another schema on the path whose argument types match better; the recommended role setup (no
 * CREATE on schemas in the path) closes that, and PostgreSQL's grants back the policy.
 */

/** What a session's resolution depends on. Immutable: a changed search_path makes a new scope. */
export interface SqlScope {
  /** The connected (upstream) database; undefined refuses every three-part name. */
  readonly database: string | undefined;
  /** The upstream role, for `$user` in a search_path; undefined leaves `$user` out. */
  readonly user: string | undefined;
  /** Every search_path the session may have now, the server's default first. */
  readonly searchPaths: readonly (readonly string[])[];
  /** Identifies the scope in caches. */
  readonly key: string;
}

/** PostgreSQL's default search_path (`"$user", public`), assumed for a new session. */
export const DEFAULT_SEARCH_PATH: readonly string[] = Object.freeze(['$user', 'public']);

export function makeScope(database: string | undefined, user: string | undefined, searchPaths: readonly (readonly string[])[] = [DEFAULT_SEARCH_PATH]): SqlScope {
  const paths = Object.freeze(searchPaths.map((p) => Object.freeze([...p])));
  return Object.freeze({ database, user, searchPaths: paths, key: JSON.stringify([database ?? null, user ?? null, paths]) });
}

/** The scope of classifySql without a session: no database known, the default search_path. */
export const DEFAULT_SCOPE: SqlScope = makeScope(undefined, undefined);

/** A hard refusal, independent of policy: the statement would make the gateway's judgment wrong. */
export interface SqlRefusal {
  /** Stable code recorded with the denial: `postgres.lexing_setting`, `postgres.search_path`, `postgres.cross_database`, `postgres.set_config_name`. */
  readonly code: DecisionCode;
  readonly message: string;
}

export interface ResolvedNames {
  readonly tables: string[];
  readonly functions: string[];
  readonly kind: SqlKind;
  readonly flags: string[];
  readonly refusal?: SqlRefusal;
}

function crossDatabase(parts: readonly string[]): SqlRefusal {
  return {
    code: DECISION_CODES.postgresCrossDatabase,
    message: `gatehouse: "${parts.join('.')}" names another database; only names in the connected database are allowed (write schema.name)`,
  };
}

/** Reduces a 3-part name to 2 parts; undefined when its catalog is not the connected database. */
function local(parts: readonly string[], scope: SqlScope): readonly string[] | undefined {
  if (parts.length < 3) return parts;
  if (parts.length > 3 || scope.database === undefined || parts[0] !== scope.database) return undefined;
  return parts.slice(1);
}

/** The schemas an unqualified name may resolve in, in any possible path (pg_temp left out: only the session's own tables live there). */
function pathSchemas(scope: SqlScope): { schemas: string[]; catalogFirstEverywhere: boolean } {
  const schemas: string[] = [];
  let catalogFirstEverywhere = true;
  for (const path of scope.searchPaths) {
    let sawOther = false;
    for (const entry of path) {
      const schema = entry === '$user' ? scope.user : entry;
      if (schema === undefined || schema === '' || schema === 'pg_temp' || schema.startsWith('pg_temp_')) continue;
      if (schema === 'pg_catalog') {
        if (sawOther) catalogFirstEverywhere = false;
        continue;
      }
      sawOther = true;
      if (!schemas.includes(schema)) schemas.push(schema);
    }
  }
  return { schemas, catalogFirstEverywhere };
}

const CLASS_KIND: Readonly<Record<FunctionClass, SqlKind>> = { read: 'read', write: 'write', call: 'call', admin: 'admin' };
const CLASS_FLAG: Readonly<Record<FunctionClass, string | undefined>> = { read: undefined, write: 'writing_function', call: 'unknown_function', admin: 'dangerous_function' };

/**
 * Resolves a statement's relation and function names in `scope`, and folds what the functions do
 * into its kind and flags. `relations` and `calls` are name parts as the parser gives them.
 */
export function resolveNames(
  baseKind: SqlKind,
  baseFlags: readonly string[],
  relations: readonly (readonly string[])[],
  calls: readonly (readonly string[])[],
  operators: readonly (readonly string[])[],
  scope: SqlScope,
): ResolvedNames {
  let refusal: SqlRefusal | undefined;
  const { schemas, catalogFirstEverywhere } = pathSchemas(scope);
  const tables: string[] = [];
  const add = (list: string[], name: string): void => {
    if (!list.includes(name)) list.push(name);
  };
  for (const written of relations) {
    const parts = local(written, scope);
    if (parts === undefined) {
      refusal ??= crossDatabase(written);
      add(tables, written.join('.'));
      continue;
    }
    if (parts.length === 2) {
      add(tables, `${parts[0]}.${parts[1]}`);
      continue;
    }
    const name = parts[0]!;
    if (name.startsWith('pg_')) add(tables, `pg_catalog.${name}`);
    for (const schema of schemas) add(tables, `${schema}.${name}`);
  }

  let kind = baseKind;
  const flags = [...baseFlags];
  const functions: string[] = [];
  const judge = (cls: FunctionClass, name: string): void => {
    kind = atLeast(kind, CLASS_KIND[cls]);
    const flag = CLASS_FLAG[cls];
    if (flag !== undefined && !flags.includes(flag)) flags.push(flag);
    if (TABLE_READING_FUNCTIONS.has(name) && !flags.includes('reads_named_tables')) flags.push('reads_named_tables');
  };
  for (const written of calls) {
    const parts = local(written, scope);
    if (parts === undefined) {
      refusal ??= crossDatabase(written);
      add(functions, written.join('.'));
      judge('admin', written.join('.'));
      continue;
    }
    const name = parts[parts.length - 1]!;
    if (parts.length === 2 && parts[0] !== 'pg_catalog') {
      add(functions, `${parts[0]}.${name}`);
      judge('call', `${parts[0]}.${name}`);
      continue;
    }
    add(functions, name);
    const cls = builtinClass(name);
    // Unqualified, with a path that may search another schema first: the built-in is one candidate
    // among others. Only its danger counts then, never its harmlessness.
    judge(parts.length === 1 && !catalogFirstEverywhere && cls !== 'admin' ? 'call' : cls, name);
  }
  for (const written of operators) {
    const parts = local(written, scope);
    if (parts === undefined) {
      refusal ??= crossDatabase(written);
      continue;
    }
    if (parts.length === 2 && parts[0] !== 'pg_catalog') {
      const name = `operator(${parts[0]}.${parts[1]})`;
      add(functions, name);
      judge('call', name);
    }
  }
  return refusal === undefined ? { tables, functions, kind, flags } : { tables, functions, kind, flags, refusal };
}
