import { classifySql, loadSqlParser, sqlOperation, type SqlStatement } from '../../../../../gateway/src/protocols/postgres/sql/classify';

/** The one statement of `sql`; fails the test when the text does not parse to exactly one. */
function one(sql: string): SqlStatement {
  const result = classifySql(sql);
  if (!result.ok) throw new Error(`expected ${sql} to parse: ${result.error}`);
  expect(result.statements).toHaveLength(1);
  return result.statements[0]!;
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('classifySql', () => {
  test('classifies reads, writes, DDL, admin and transaction control', () => {
    expect(one('SELECT * FROM users')).toMatchObject({ command: 'select', kind: 'read', tables: ['users'], unbounded: false });
    expect(one('INSERT INTO s.t (a) VALUES (1)')).toMatchObject({ command: 'insert', kind: 'write', tables: ['s.t'] });
    expect(one('UPDATE t SET a = 1 WHERE id = 2')).toMatchObject({ command: 'update', kind: 'write', unbounded: false });
    expect(one('CREATE TABLE t (id int)')).toMatchObject({ command: 'create_table', kind: 'ddl', tables: ['t'] });
    expect(one('DROP TABLE a.b, c')).toMatchObject({ command: 'drop_table', kind: 'ddl', tables: ['a.b', 'c'] });
    expect(one('GRANT SELECT ON t TO bob')).toMatchObject({ command: 'grant', kind: 'admin', tables: ['t'] });
    expect(one('BEGIN')).toMatchObject({ command: 'begin', kind: 'transaction' });
  });

  test('splits multi-statement text and gives each statement its own text, also after multi-byte characters', () => {
    const result = classifySql("select 'é'; delete from t");
    expect(result.ok && result.statements.map((s) => [s.text, s.command])).toEqual([
      ["select 'é'", 'select'],
      ['delete from t', 'delete'],
    ]);
  });

  test('invalid SQL is not ok and carries the parser message', () => {
    expect(classifySql('selec x')).toEqual({ ok: false, error: 'syntax error at or near "selec"' });
  });

  test('sqlOperation names the action sql:<command> for the postgres protocol', () => {
    const op = sqlOperation(one('DELETE FROM t'));
    expect(op).toMatchObject({ protocol: 'postgres', action: 'sql:delete', attributes: { kind: 'write', command: 'delete', tables: ['t'], unbounded: true } });
  });
});
