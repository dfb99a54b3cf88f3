import { classifySql, loadSqlParser, type SqlStatement } from '../../../../../gateway/src/protocols/postgres/sql/classify';
import { makeScope, type SqlScope } from '../../../../../gateway/src/protocols/postgres/sql/resolve';
import { MAX_SEARCH_PATHS, SqlSessionState } from '../../../../../gateway/src/protocols/postgres/sql/session-state';

beforeAll(async () => {
  await loadSqlParser();
});

const APP = makeScope('appdb', 'app');

function one(sql: string, scope: SqlScope = APP): SqlStatement {
  const r = classifySql(sql, scope);
  if (!r.ok) throw new Error(r.error);
  return r.statements[0]!;
}

describe('relations', () => {
  test('every spelling of one relation is one name; the connected catalog is dropped, others refused', () => {
    for (const sql of ['SELECT * FROM hr.salaries', 'SELECT * FROM HR.Salaries', 'SELECT * FROM "hr"."salaries"', 'SELECT * FROM appdb.hr.salaries', 'SELECT * FROM "appdb".hr."salaries"']) {
      expect(one(sql)).toMatchObject({ tables: ['hr.salaries'] });
      expect(one(sql).refusal).toBeUndefined();
    }
    expect(one('SELECT * FROM other.hr.salaries')).toMatchObject({ refusal: { code: 'postgres.cross_database' } });
    expect(one('SELECT * FROM "AppDB".hr.salaries')).toMatchObject({ refusal: { code: 'postgres.cross_database' } });
  });

  test('unqualified names are listed under each schema they may resolve to', () => {
    expect(one('SELECT * FROM salaries').tables).toEqual(['app.salaries', 'public.salaries']);
    expect(one('SELECT * FROM salaries', makeScope('appdb', undefined)).tables).toEqual(['public.salaries']);
    expect(one('SELECT * FROM pg_authid').tables).toEqual(['pg_catalog.pg_authid', 'app.pg_authid', 'public.pg_authid']);
    const state = new SqlSessionState('appdb', undefined);
    state.noteSearchPath(['hr', 'pg_temp']);
    expect(one('UPDATE salaries SET a = 1 WHERE id = 1', state.scope).tables).toEqual(['public.salaries', 'hr.salaries']);
  });

  test('a session records each distinct path once, and no more than MAX_SEARCH_PATHS', () => {
    const state = new SqlSessionState('appdb', 'app');
    expect(state.noteSearchPath('default')).toBe(true);
    expect(state.scope.searchPaths).toHaveLength(1);
    for (let i = 1; i < MAX_SEARCH_PATHS; i++) expect(state.noteSearchPath([`s${i}`])).toBe(true);
    expect(state.noteSearchPath(['s1'])).toBe(true);
    expect(state.noteSearchPath(['one-too-many'])).toBe(false);
    expect(state.scope.searchPaths).toHaveLength(MAX_SEARCH_PATHS);
  });
});

describe('functions', () => {
  test('pg_catalog spellings are the built-in; other schemas are unknown functions', () => {
    for (const call of ['pg_read_file', 'pg_catalog.pg_read_file', '"pg_catalog"."pg_read_file"', 'appdb.pg_catalog.pg_read_file', 'PG_CATALOG.PG_READ_FILE']) {
      expect(one(`SELECT ${call}('x')`)).toMatchObject({ kind: 'admin', functions: ['pg_read_file'], flags: ['dangerous_function'] });
    }
    expect(one("SELECT public.pg_read_file('x')")).toMatchObject({ kind: 'call', functions: ['public.pg_read_file'], flags: ['unknown_function'] });
    expect(one('SELECT "LOWER"(\'x\')')).toMatchObject({ kind: 'call', functions: ['LOWER'] });
    expect(one("SELECT other.pg_catalog.lower('x')")).toMatchObject({ refusal: { code: 'postgres.cross_database' } });
  });

  test('with pg_catalog after another schema in a path, unqualified built-ins are only dangerous, never reads', () => {
    const state = new SqlSessionState('appdb', 'app');
    state.noteSearchPath(['public', 'pg_catalog']);
    expect(one("SELECT lower('x')", state.scope)).toMatchObject({ kind: 'call' });
    expect(one("SELECT pg_catalog.lower('x')", state.scope)).toMatchObject({ kind: 'read' });
    expect(one("SELECT pg_read_file('x')", state.scope)).toMatchObject({ kind: 'admin' });
    // pg_catalog first (explicitly) is the same as the default.
    const first = new SqlSessionState('appdb', 'app');
    first.noteSearchPath(['pg_catalog', 'public']);
    expect(one("SELECT lower('x')", first.scope)).toMatchObject({ kind: 'read' });
  });

  test('writing built-ins are writes, table-reading ones are never reads, qualified operators are calls', () => {
    expect(one("SELECT nextval('s')")).toMatchObject({ kind: 'write', flags: ['writing_function'] });
    expect(one("INSERT INTO t VALUES (nextval('s'))")).toMatchObject({ kind: 'write' });
    expect(one("SELECT table_to_xml('hr.salaries', true, false, '')")).toMatchObject({ kind: 'call', flags: ['unknown_function', 'reads_named_tables'] });
    expect(one("SELECT query_to_xml('select 1', true, false, '')")).toMatchObject({ kind: 'admin', flags: ['dangerous_function', 'reads_named_tables'] });
    expect(one('SELECT 1 OPERATOR(public.+) 2')).toMatchObject({ kind: 'call', functions: ['operator(public.+)'] });
    expect(one('SELECT 1 OPERATOR(pg_catalog.+) 2')).toMatchObject({ kind: 'read', functions: [] });
    expect(one('EXPLAIN SELECT app.f()')).toMatchObject({ kind: 'call' });
  });
});

describe('settings', () => {
  test.each([
    ['SET standard_conforming_strings = off', 'postgres.lexing_setting'],
    ['SET "standard_conforming_strings" = on', 'postgres.lexing_setting'],
    ['RESET client_encoding', 'postgres.lexing_setting'],
    ["SET NAMES 'SJIS'", 'postgres.lexing_setting'],
    ['SET backslash_quote = safe_encoding', 'postgres.lexing_setting'],
    ["SELECT set_config('client_encoding', 'SJIS', false)", 'postgres.lexing_setting'],
    ["SELECT app.set_config('backslash_quote', 'on', false)", 'postgres.lexing_setting'],
    ["SELECT set_config('x' || 'y', 'z', false)", 'postgres.set_config_name'],
    ["SELECT set_config('search_path', 'hr', true)", 'postgres.search_path'],
    ['ALTER ROLE app SET search_path = hr', 'postgres.search_path'],
    ['ALTER DATABASE appdb RESET search_path', 'postgres.search_path'],
    ['ALTER SYSTEM SET client_encoding = SJIS', 'postgres.lexing_setting'],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql SET backslash_quote = on AS 'select 1'", 'postgres.lexing_setting'],
  ])('%s is refused (%s)', (sql, code) => {
    expect(one(sql).refusal?.code).toBe(code);
  });

  test('allowed: other settings, escape_string_warning, search_path followed, a function\'s own search_path', () => {
    for (const sql of ['SET escape_string_warning = off', 'SET statement_timeout = 1000', "SELECT set_config('application_name', 'x', false)", 'RESET ALL', "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = pg_catalog AS 'select 1'"]) {
      expect(one(sql).refusal).toBeUndefined();
    }
    expect(one("SET search_path = hr, 'My Schema', \"$user\"")).toMatchObject({ searchPath: ['hr', 'My Schema', '$user'] });
    expect(one('SET LOCAL search_path TO hr')).toMatchObject({ searchPath: ['hr'] });
    expect(one('SET search_path TO DEFAULT')).toMatchObject({ searchPath: 'default' });
    expect(one('RESET search_path')).toMatchObject({ searchPath: 'default' });
  });
});
