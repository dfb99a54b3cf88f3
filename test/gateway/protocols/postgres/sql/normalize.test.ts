import { classifyForJudgment, clearShapeCache } from '../../../../../gateway/src/protocols/postgres/judge';
import { classifySql, clearSqlCache, loadSqlParser, sqlOperation } from '../../../../../gateway/src/protocols/postgres/sql/classify';
import { normalizeSql } from '../../../../../gateway/src/protocols/postgres/sql/normalize';

/**
 * The literal-insensitive classification cache: texts that differ only in literal values share a
 * key, and sharing it never changes what policy sees (differential against the uncached classifier).
 */
beforeAll(async () => {
  await loadSqlParser();
});

/** What policy and the record see of a text, through the judge's cache or straight from the classifier. */
function viaJudge(sql: string): unknown {
  const c = classifyForJudgment(sql);
  if (!c.ok) return { error: true };
  return c.statements.map((s) => ({ text: s.text, command: s.command, kind: s.kind, tables: s.tables, action: s.operation.action, attributes: s.operation.attributes, summary: s.operation.summary }));
}

function uncached(sql: string): unknown {
  clearSqlCache();
  const c = classifySql(sql);
  if (!c.ok) return { error: true };
  return c.statements.map((s) => {
    const op = sqlOperation(s);
    return { text: s.text, command: s.command, kind: s.kind, tables: s.tables, action: op.action, attributes: op.attributes, summary: op.summary };
  });
}

describe('normalizeSql', () => {
  test('texts that differ only in literal values share a key; the first statement end is found', () => {
    const a = normalizeSql('SELECT abalance FROM pgbench_accounts WHERE aid = 123;');
    const b = normalizeSql('SELECT abalance FROM pgbench_accounts WHERE aid = 98765;');
    expect(a?.key).toBeDefined();
    expect(a?.key).toBe(b?.key);
    expect(a?.singleEnd).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 123'.length);
    expect(normalizeSql("UPDATE t SET note = 'x' WHERE id = 1")?.key).toBe(normalizeSql("UPDATE t SET note = 'it''s' WHERE id = 2")?.key);
  });

  test('identifiers, parameters, comments, quoted identifiers and dollar quotes are not literals', () => {
    expect(normalizeSql('SELECT t1.a FROM t1 WHERE b = $1')?.key).toBe('SELECT t1.a FROM t1 WHERE b = $1');
    expect(normalizeSql('SELECT "col 1" FROM t -- 42\n')?.key).toBe('SELECT "col 1" FROM t -- 42\n');
    expect(normalizeSql('SELECT 1 /* 2 /* nested */ 3 */')?.key).toBe('SELECT \0n /* 2 /* nested */ 3 */');
    expect(normalizeSql('SELECT $$ 5 $$')?.key).toBe('SELECT $$ 5 $$');
  });

  test('refused where literal values could change the classification', () => {
    // Two equal values could form a constant-true comparison (an unbounded DELETE).
    expect(normalizeSql('DELETE FROM t WHERE 1 = 1')).toBeUndefined();
    expect(normalizeSql("DELETE FROM t WHERE 'a' = 'a'")).toBeUndefined();
    expect(normalizeSql('DELETE FROM t WHERE 1 = 1.0')).toBeUndefined();
    // EXPLAIN options take values (ANALYZE 0 / 1).
    expect(normalizeSql('EXPLAIN (ANALYZE 1) DELETE FROM t WHERE id = 2')).toBeUndefined();
    // A kept escape string next to a normalized literal could be equal to it.
    expect(normalizeSql("DELETE FROM t WHERE E'a' = 'a'")).toBeUndefined();
    // Adjacent strings are one literal; numbers glued to identifiers differ between versions.
    expect(normalizeSql("SELECT 'a'\n'b'")).toBeUndefined();
    expect(normalizeSql('SELECT 0x1F')).toBeUndefined();
    expect(normalizeSql('SELECT 1_000')).toBeUndefined();
    expect(normalizeSql("SELECT U&'\\0041'")).toBeUndefined();
    // Unterminated quoting.
    expect(normalizeSql("SELECT 'open")).toBeUndefined();
    expect(normalizeSql('SELECT 1 /* open')).toBeUndefined();
  });

  test('a multi-statement text has no single statement end', () => {
    expect(normalizeSql('SELECT 1; SELECT 2')).toBeUndefined();
    expect(normalizeSql('SELECT 1; -- only a comment\n ;')?.singleEnd).toBe(8);
  });
});

describe('literal-insensitive classification', () => {
  beforeEach(() => {
    clearShapeCache();
    clearSqlCache();
  });

  // Families of texts that differ in literals only: every member must classify as the classifier
  // does on its own, whether it was the one that filled the cache or one that hit it.
  const families: string[][] = [
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 123', 'SELECT abalance FROM pgbench_accounts WHERE aid = 456', 'SELECT abalance FROM pgbench_accounts WHERE aid = 7;'],
    ['UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 5', 'UPDATE pgbench_accounts SET abalance = abalance + 99 WHERE aid = 6'],
    ["INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 2, 3, 4, CURRENT_TIMESTAMP)", 'INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (5, 6, 7, 8, CURRENT_TIMESTAMP)'],
    ['DELETE FROM t WHERE id = 1', 'DELETE FROM t WHERE id = 2'],
    ['DELETE FROM t WHERE 1 = 2', 'DELETE FROM t WHERE 1 = 1', 'DELETE FROM t WHERE 3 = 3', "DELETE FROM t WHERE 'x' = 'x'", 'DELETE FROM t WHERE 2 = 1'],
    ['UPDATE t SET a = 1', 'UPDATE t SET a = 2'],
    ['UPDATE t SET a = 1 WHERE true', 'UPDATE t SET a = 5 WHERE true'],
    ['DELETE FROM t WHERE id = 1 OR 2 = 2', 'DELETE FROM t WHERE id = 1 OR 2 = 3'],
    ["WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d WHERE name = 'a'", "WITH d AS (DELETE FROM t WHERE id = 2 RETURNING *) SELECT * FROM d WHERE name = 'b'"],
    ["WITH d AS (DELETE FROM t WHERE 1 = 1 RETURNING *) SELECT 5", "WITH d AS (DELETE FROM t WHERE 1 = 2 RETURNING *) SELECT 5"],
    ["SELECT pg_read_file('/etc/passwd', 0, 100)", "SELECT pg_read_file('/tmp/x', 1, 200)"],
    ["SELECT set_config('role', 'admin', false)", "SELECT set_config('search_path', 'x', true)"],
    ['CREATE TABLE t2 (id int DEFAULT 5, name varchar(20))', 'CREATE TABLE t2 (id int DEFAULT 6, name varchar(30))'],
    ['ALTER TABLE t ALTER COLUMN a SET DEFAULT 1', 'ALTER TABLE t ALTER COLUMN a SET DEFAULT 2'],
    ['SELECT * FROM t LIMIT 10 OFFSET 20', 'SELECT * FROM t LIMIT 1 OFFSET 2'],
    ['SELECT * FROM t WHERE id = 1 FOR UPDATE', 'SELECT * FROM t WHERE id = 2 FOR UPDATE'],
    ['EXPLAIN (ANALYZE 0) DELETE FROM t WHERE id = 1', 'EXPLAIN (ANALYZE 1) DELETE FROM t WHERE id = 1', "EXPLAIN (ANALYZE 'off') DELETE FROM t", "EXPLAIN (ANALYZE 'on') DELETE FROM t"],
    ["COPY t FROM '/tmp/a.csv'", "COPY t FROM '/tmp/b.csv'"],
    ["SET search_path = 'a'", "SET search_path = 'b'"],
    ['SET transaction_read_only = on', 'SET transaction_read_only = off', "SET transaction_read_only = 'on'", "SET transaction_read_only = 'off'"],
    ['SET default_transaction_read_only = 1', 'SET default_transaction_read_only = 0'],
    ["SET ROLE 'x'", "SET ROLE 'y'"],
    ["DO $$BEGIN PERFORM 1; END$$", "DO $$BEGIN PERFORM 2; END$$"],
    ['/* c 1 */ SELECT 1.5e3 AS x -- 7', '/* c 1 */ SELECT 2.5e-3 AS x -- 7'],
    ["SELECT E'a' = 'a'", "SELECT E'a' = 'b'"],
    ["DELETE FROM t WHERE E'a' = 'a'", "DELETE FROM t WHERE E'a' = 'b'"],
    ["SELECT 'a'\n'b' = 'ab'", "SELECT 'a'\n'b' = 'cd'"],
    ['DELETE FROM t WHERE -1 = -1', 'DELETE FROM t WHERE -1 = -2'],
    ['DELETE FROM t WHERE 01 = 1', 'DELETE FROM t WHERE 02 = 1'],
    ["DELETE FROM t WHERE 'a''' = 'a'''", "DELETE FROM t WHERE 'a''' = 'b'''"],
    ['SELECT 1; DELETE FROM t WHERE 1 = 1', 'SELECT 2; DELETE FROM t WHERE 1 = 1'],
  ];

  test.each(families.map((f) => [f[0]!, f]))('%s: every member classifies exactly as the uncached classifier', (_first, family) => {
    // Forward, then backward: each member once fills the cache, once hits it.
    for (const order of [family, [...family].reverse()]) {
      clearShapeCache();
      clearSqlCache();
      const got = order.map((sql) => viaJudge(sql));
      const want = order.map((sql) => uncached(sql));
      expect(got).toEqual(want);
    }
  });

  test('literals never change kind, tables or unbounded within one key', () => {
    const a = classifyForJudgment('DELETE FROM t WHERE id = 2');
    const b = classifyForJudgment('DELETE FROM t WHERE 1 = 1');
    expect(a.ok && a.statements[0]!.operation.attributes.unbounded).toBe(false);
    expect(b.ok && b.statements[0]!.operation.attributes.unbounded).toBe(true);
  });

  test('a hit carries its own text (what is recorded), not the text that filled the cache', () => {
    classifyForJudgment('SELECT abalance FROM pgbench_accounts WHERE aid = 1');
    const hit = classifyForJudgment('  SELECT abalance FROM pgbench_accounts WHERE aid = 2 ;  ');
    expect(hit.ok && hit.statements[0]!.text).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 2');
    expect(hit.ok && hit.statements[0]!.operation.summary).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = 2');
  });
});
