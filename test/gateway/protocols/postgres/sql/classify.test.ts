import { classifySql, clearSqlCache, loadSqlParser, sqlOperation, SQL_CACHE_ENTRIES, type SqlStatement } from '../../../../../gateway/src/protocols/postgres/sql/classify';

/** The one statement of `sql`; fails the test when the text does not parse to exactly one. */
function one(sql: string): SqlStatement {
  const result = classifySql(sql);
  if (!result.ok) throw new Error(`expected ${sql} to parse: ${result.error}`);
  expect(result.statements).toHaveLength(1);
  return result.statements[0]!;
}

const facts = (sql: string) => {
  const s = one(sql);
  return [s.command, s.kind];
};

beforeAll(async () => {
  await loadSqlParser();
});

describe('commands and kinds', () => {
  test.each([
    ['SELECT * FROM users', 'select', 'read'],
    ['VALUES (1), (2)', 'select', 'read'],
    ['TABLE users', 'select', 'read'],
    ['SHOW search_path', 'show', 'read'],
    ['EXPLAIN SELECT 1', 'explain', 'read'],
    ['FETCH 10 FROM c', 'fetch', 'read'],
    ['INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1', 'insert', 'write'],
    ['UPDATE t SET a = 1 WHERE id = 1', 'update', 'write'],
    ['DELETE FROM t WHERE id = 1', 'delete', 'write'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'merge', 'write'],
    ['TRUNCATE t', 'truncate', 'write'],
    ['COPY t FROM STDIN', 'copy', 'write'],
    ['COPY t TO STDOUT', 'copy', 'read'],
    ['LOCK TABLE t IN ACCESS EXCLUSIVE MODE', 'lock', 'write'],
    ['CALL refresh_stats(1)', 'call', 'call'],
    ['VACUUM FULL t', 'vacuum', 'write'],
    ['REFRESH MATERIALIZED VIEW mv', 'refresh_materialized_view', 'write'],
    ['CREATE TABLE t (id int)', 'create_table', 'ddl'],
    ['CREATE TABLE t2 AS SELECT * FROM t', 'create_table_as', 'ddl'],
    ['SELECT * INTO t2 FROM t', 'select_into', 'ddl'],
    ['CREATE MATERIALIZED VIEW mv AS SELECT 1', 'create_materialized_view', 'ddl'],
    ['DROP TABLE t', 'drop_table', 'ddl'],
    ['DROP SCHEMA app CASCADE', 'drop_schema', 'ddl'],
    ['DROP DATABASE app', 'drop_database', 'ddl'],
    ['ALTER TABLE t ADD COLUMN c int', 'alter_table', 'ddl'],
    ['ALTER TABLE t RENAME TO u', 'alter_table', 'ddl'],
    ['CREATE INDEX i ON t (c)', 'create_index', 'ddl'],
    ['CREATE VIEW v AS SELECT 1', 'create_view', 'ddl'],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', 'create_function', 'ddl'],
    ['CREATE EXTENSION pgcrypto', 'create_extension', 'ddl'],
    ["COMMENT ON TABLE t IS 'x'", 'comment', 'ddl'],
    ['GRANT SELECT ON t TO bob', 'grant', 'admin'],
    ['REVOKE SELECT ON t FROM bob', 'revoke', 'admin'],
    ['GRANT admins TO bob', 'grant', 'admin'],
    ['CREATE ROLE r LOGIN', 'create_role', 'admin'],
    ['CREATE USER u', 'create_role', 'admin'],
    ['ALTER ROLE r SUPERUSER', 'alter_role', 'admin'],
    ['DROP ROLE r', 'drop_role', 'admin'],
    ["ALTER SYSTEM SET work_mem = '1GB'", 'alter_system', 'admin'],
    ['ALTER TABLE t OWNER TO bob', 'alter_table', 'admin'],
    ['SET ROLE postgres', 'set', 'admin'],
    ['SET SESSION AUTHORIZATION bob', 'set', 'admin'],
    ['DO $$ BEGIN END $$', 'do', 'admin'],
    ["LOAD 'auto_explain'", 'load', 'admin'],
    ['CHECKPOINT', 'checkpoint', 'admin'],
    ['BEGIN', 'begin', 'transaction'],
    ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'begin', 'transaction'],
    ['COMMIT', 'commit', 'transaction'],
    ['ROLLBACK', 'rollback', 'transaction'],
    ['SAVEPOINT a', 'savepoint', 'transaction'],
    ['ROLLBACK TO SAVEPOINT a', 'rollback_to_savepoint', 'transaction'],
    ['RELEASE SAVEPOINT a', 'release_savepoint', 'transaction'],
    ['SET search_path = app', 'set', 'other'],
    ['RESET ROLE', 'reset', 'other'],
    ['LISTEN jobs', 'listen', 'other'],
    ["NOTIFY jobs, 'x'", 'notify', 'other'],
    ['DISCARD ALL', 'discard', 'other'],
    ['EXECUTE p(1)', 'execute', 'other'],
  ])('%s → %s (%s)', (sql, command, kind) => {
    expect(facts(sql)).toEqual([command, kind]);
  });
});

describe('what a statement does beyond its command', () => {
  test('a data-modifying CTE makes a SELECT a write, and its DELETE may be unbounded', () => {
    expect(one('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d')).toMatchObject({ command: 'select', kind: 'write', unbounded: true, tables: ['public.t'], flags: ['writing_subquery'] });
    expect(one('WITH d AS (UPDATE t SET a = 1 WHERE id = 1 RETURNING *) SELECT * FROM d')).toMatchObject({ kind: 'write', unbounded: false });
    expect(one('COPY (DELETE FROM t WHERE id = 1 RETURNING *) TO STDOUT')).toMatchObject({ command: 'copy', kind: 'write' });
  });

  test('row locks make a SELECT a write', () => {
    for (const lock of ['FOR UPDATE', 'FOR NO KEY UPDATE', 'FOR SHARE', 'FOR KEY SHARE']) {
      expect(one(`SELECT * FROM t ${lock}`)).toMatchObject({ command: 'select', kind: 'write', flags: ['locking'] });
    }
    expect(one('SELECT * FROM (SELECT * FROM t FOR UPDATE) x')).toMatchObject({ kind: 'write' });
    expect(one('DECLARE c CURSOR FOR SELECT * FROM t FOR UPDATE')).toMatchObject({ command: 'declare', kind: 'write' });
  });

  test('EXPLAIN ANALYZE runs its statement and takes its kind; plain EXPLAIN does not', () => {
    expect(one('EXPLAIN ANALYZE DELETE FROM t')).toMatchObject({ command: 'explain', kind: 'write', unbounded: true, flags: ['explain_analyze'] });
    expect(one('EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE id = 1')).toMatchObject({ kind: 'write', unbounded: false });
    expect(one('EXPLAIN (ANALYZE true) CREATE TABLE t2 AS SELECT 1')).toMatchObject({ kind: 'ddl' });
    expect(one('EXPLAIN DELETE FROM t')).toMatchObject({ kind: 'read', unbounded: false, tables: ['public.t'] });
    expect(one('EXPLAIN (ANALYZE false) DELETE FROM t')).toMatchObject({ kind: 'read', unbounded: false });
    expect(one('EXPLAIN (ANALYZE off) DELETE FROM t')).toMatchObject({ kind: 'read' });
    expect(one('EXPLAIN ANALYZE SELECT 1')).toMatchObject({ kind: 'read' });
    expect(one("EXPLAIN SELECT pg_read_file('x')")).toMatchObject({ kind: 'admin' });
  });

  test('known-dangerous functions make any statement admin and are listed', () => {
    for (const call of ['pg_terminate_backend(1)', "set_config('a', 'b', false)", "pg_read_file('/etc/passwd')", "lo_import('/etc/passwd')", "pg_catalog.pg_read_file('/x')", 'pg_reload_conf()']) {
      expect(one(`SELECT ${call}`)).toMatchObject({ command: 'select', kind: 'admin', flags: ['dangerous_function'] });
    }
    expect(one("SELECT * FROM dblink('dbname=x', 'select 1') AS r(a int)")).toMatchObject({ kind: 'admin', functions: ['dblink'] });
    expect(one("UPDATE t SET a = pg_read_file('/x') WHERE id = 1")).toMatchObject({ command: 'update', kind: 'admin' });
    expect(one("SELECT query_to_xml('delete from t', true, true, '')")).toMatchObject({ kind: 'admin' });
  });

  test('allow-listed built-ins are listed but change nothing; any other function makes the statement `call`', () => {
    expect(one('SELECT now(), lower(name) FROM users')).toMatchObject({ kind: 'read', functions: ['now', 'lower'], flags: [] });
    expect(one('SELECT now(), lower(name), app.score(id) FROM users')).toMatchObject({ kind: 'call', functions: ['now', 'lower', 'app.score'], flags: ['unknown_function'] });
    expect(one('SELECT * FROM generate_series(1, 3)')).toMatchObject({ kind: 'read', functions: ['generate_series'], tables: [] });
  });

  test('COPY to or from a program or a server file is admin', () => {
    expect(one("COPY t TO PROGRAM 'gzip > /tmp/x'")).toMatchObject({ kind: 'admin', flags: ['copy_program'] });
    expect(one("COPY t FROM PROGRAM 'curl http://x'")).toMatchObject({ kind: 'admin', flags: ['copy_from', 'copy_program'] });
    expect(one("COPY t TO '/tmp/t.csv'")).toMatchObject({ kind: 'admin', flags: ['copy_file'] });
    expect(one("COPY t FROM '/etc/passwd'")).toMatchObject({ kind: 'admin' });
  });

  test('unbounded: UPDATE/DELETE without WHERE or with a constant-true WHERE', () => {
    for (const sql of ['DELETE FROM t', 'UPDATE t SET a = 1', 'DELETE FROM t WHERE true', 'DELETE FROM t WHERE 1 = 1', "UPDATE t SET a = 1 WHERE 'x' = 'x'"]) {
      expect({ sql, unbounded: one(sql).unbounded }).toEqual({ sql, unbounded: true });
    }
    // Constant WHEREs are unbounded even when false: only a restriction of a target column counts.
    for (const sql of ['DELETE FROM t WHERE false', 'DELETE FROM t WHERE 1 = 2', 'UPDATE t SET a = 1 FROM u WHERE t.id = u.id']) {
      expect({ sql, unbounded: one(sql).unbounded }).toEqual({ sql, unbounded: true });
    }
    for (const sql of ['DELETE FROM t WHERE id = 1', 'UPDATE t SET a = 1 FROM u WHERE t.id = u.id AND t.id = 3', 'DELETE FROM t WHERE CURRENT OF c', 'INSERT INTO t VALUES (1)', 'MERGE INTO t USING s ON t.id = 5 WHEN MATCHED THEN DELETE']) {
      expect({ sql, unbounded: one(sql).unbounded }).toEqual({ sql, unbounded: false });
    }
  });

  test('statements stored for later (function bodies, rules) are DDL, not writes now', () => {
    expect(one('CREATE FUNCTION f() RETURNS void BEGIN ATOMIC DELETE FROM t; END')).toMatchObject({ command: 'create_function', kind: 'ddl', unbounded: false, flags: [] });
    expect(one('CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u')).toMatchObject({ command: 'create_rule', kind: 'ddl', unbounded: false, tables: ['public.t', 'public.u'] });
  });
});

describe('tables', () => {
  test('schema-qualified when written so, lower-cased unless quoted, each once, in order', () => {
    expect(one('SELECT * FROM Public.Users u JOIN "Sales"."Orders" o ON o.uid = u.id JOIN public.users x ON true').tables).toEqual(['public.users', 'Sales.Orders']);
    expect(one('INSERT INTO audit SELECT * FROM app.events WHERE id IN (SELECT id FROM flagged)').tables).toEqual(['public.audit', 'app.events', 'public.flagged']);
    // Without a session the connected database is unknown: a three-part name is refused.
    expect(one('SELECT * FROM db.app.t')).toMatchObject({ tables: ['db.app.t'], refusal: { code: 'postgres.cross_database' } });
  });

  test("a CTE's own name is not a table", () => {
    expect(one('WITH recent AS (SELECT * FROM orders) SELECT * FROM recent').tables).toEqual(['public.orders']);
  });

  test('DDL names its relations', () => {
    expect(one('DROP TABLE a.b, "C"').tables).toEqual(['a.b', 'public.C']);
    expect(one('ALTER TABLE app.t ADD COLUMN c int').tables).toEqual(['app.t']);
    expect(one('TRUNCATE a, b').tables).toEqual(['public.a', 'public.b']);
    expect(one('CREATE TABLE t2 AS SELECT * FROM t').tables).toEqual(['public.t2', 'public.t']);
    expect(one('GRANT SELECT ON app.t TO bob').tables).toEqual(['app.t']);
    expect(one('DROP INDEX i').tables).toEqual([]);
  });
});

describe('text, errors and the cache', () => {
  test('one statement per statement of the text, each with its own text (byte offsets, multi-byte safe, comments between left out)', () => {
    const result = classifySql("SELECT 'é'; -- note\n DELETE FROM t WHERE id = 1;;\nCOMMIT");
    expect(result.ok && result.statements.map((s) => [s.text, s.command])).toEqual([
      ["SELECT 'é'", 'select'],
      ['DELETE FROM t WHERE id = 1', 'delete'],
      ['COMMIT', 'commit'],
    ]);
  });

  test('empty text and bare semicolons are zero statements', () => {
    expect(classifySql('')).toEqual({ ok: true, statements: [] });
    expect(classifySql(' ; -- nothing')).toEqual({ ok: true, statements: [] });
  });

  test("invalid SQL is not ok, with the parser's message, bounded", () => {
    expect(classifySql('selec x')).toEqual({ ok: false, error: 'syntax error at or near "selec"' });
    expect(classifySql('SELECT 1; SELEC 2')).toMatchObject({ ok: false });
    const long = classifySql(`SELECT '${'x'.repeat(5000)}`);
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.error.length).toBeLessThanOrEqual(200);
  });

  test('a repeated text returns the same frozen result; the cache is bounded', () => {
    clearSqlCache();
    const first = classifySql('SELECT 42');
    expect(classifySql('SELECT 42')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    for (let i = 0; i <= SQL_CACHE_ENTRIES; i++) classifySql(`SELECT ${i + 1000}`);
    expect(classifySql('SELECT 42')).not.toBe(first); // evicted, classified again
    expect(classifySql('SELECT 42')).toEqual(first);
  });
});

describe('sqlOperation', () => {
  test('names the action sql:<command> for the postgres protocol with the statement facts as attributes', () => {
    expect(sqlOperation(one('DELETE FROM app.t'))).toEqual({
      protocol: 'postgres',
      action: 'sql:delete',
      attributes: { kind: 'write', command: 'delete', tables: ['app.t'], unbounded: true, functions: [], flags: [] },
      summary: 'DELETE FROM app.t',
    });
  });

  test('the summary is the statement text on one line, at most 200 characters', () => {
    const op = sqlOperation(one(`SELECT\n  ${Array.from({ length: 100 }, (_, i) => `c${i}`).join(', ')}\nFROM t`));
    expect(op.summary.length).toBeLessThanOrEqual(200);
    expect(op.summary.startsWith('SELECT c0, c1')).toBe(true);
  });

  test('accepts a hand-made statement without functions and flags', () => {
    expect(sqlOperation({ text: 'x', command: 'select', kind: 'read', tables: [], unbounded: false }).attributes).toMatchObject({ functions: [], flags: [] });
  });
});

describe('statements that may make a transaction or the session read-write (flag read_write)', () => {
  const readWrite = (sql: string): boolean => {
    const result = classifySql(sql);
    if (!result.ok) throw new Error(result.error);
    return result.statements.some((s) => (s.flags ?? []).includes('read_write'));
  };
  test.each([
    'BEGIN READ WRITE',
    'BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE',
    'START TRANSACTION READ ONLY, READ WRITE',
    'SET TRANSACTION READ WRITE',
    'SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED, READ WRITE',
    'SET transaction_read_only = off',
    'SET transaction_read_only TO false',
    'SET LOCAL transaction_read_only = 0',
    "SET transaction_read_only = 'n'",
    'SET transaction_read_only = 1.0',
    'SET transaction_read_only = DEFAULT',
    'SET default_transaction_read_only = off',
    'RESET transaction_read_only',
    'RESET default_transaction_read_only',
    'RESET ALL',
    "SELECT set_config('transaction_read_only', 'on', true)",
    "SELECT x.set_config('DEFAULT_TRANSACTION_READ_ONLY', $1, false)",
    'ALTER ROLE r SET default_transaction_read_only = off',
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql SET transaction_read_only = off AS $$SELECT 1$$',
  ])('%s', (sql) => {
    expect(readWrite(sql)).toBe(true);
  });
  test.each([
    'BEGIN',
    'BEGIN READ ONLY',
    'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE',
    'SET TRANSACTION READ ONLY',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY',
    'SET transaction_read_only = on',
    "SET transaction_read_only = 'TRUE'",
    'SET default_transaction_read_only TO 1',
    'SET default_transaction_read_only = yes',
    'SET statement_timeout = 0',
    'RESET statement_timeout',
    "SELECT set_config('statement_timeout', '0', false)",
  ])('not: %s', (sql) => {
    expect(readWrite(sql)).toBe(false);
  });
});

describe('MERGE is bounded like UPDATE/DELETE (statement.ts mergeUnbounded)', () => {
  test.each([
    'MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN UPDATE SET a = 1',
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON t.id = t.id WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON id = 1 WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON t.id > 0 WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON t.id = 1 OR true WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND t.a = 2 THEN UPDATE SET a = 1 WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND t.a > 2 THEN DELETE',
    'MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (1) WHEN MATCHED THEN UPDATE SET a = 1',
    'MERGE INTO t USING s ON t.id = 5 WHEN NOT MATCHED BY SOURCE THEN DELETE',
    'WITH x AS (SELECT 1) MERGE INTO t USING x ON true WHEN MATCHED THEN DELETE',
    'EXPLAIN ANALYZE MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE',
  ])('unbounded: %s', (sql) => {
    expect(one(sql)).toMatchObject({ command: sql.startsWith('EXPLAIN') ? 'explain' : 'merge', unbounded: true });
  });
  test.each([
    'MERGE INTO t USING s ON t.id = 5 WHEN MATCHED THEN DELETE',
    'MERGE INTO t USING s ON t.id = $1 AND t.a = s.a WHEN MATCHED THEN UPDATE SET a = s.a',
    'MERGE INTO public.t USING s ON public.t.id IN (1, 2) WHEN MATCHED THEN DELETE',
    'MERGE INTO t AS x USING s ON x.id = s.id WHEN MATCHED AND x.id = 7 THEN DELETE',
    'MERGE INTO t USING s ON true WHEN NOT MATCHED THEN INSERT VALUES (1)',
    'MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING',
  ])('bounded: %s', (sql) => {
    expect(one(sql)).toMatchObject({ command: 'merge', unbounded: false });
  });
});
