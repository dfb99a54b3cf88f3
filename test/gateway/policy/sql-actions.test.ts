import type { Principal } from '../../../gateway/src/identity/principal';
import type { Operation } from '../../../gateway/src/policy/decision';
import { createPolicyEngine } from '../../../gateway/src/policy/engine';
import { kindGroupOf } from '../../../gateway/src/policy/entities';
import { classifySql, loadSqlParser, sqlOperation } from '../../../gateway/src/protocols/postgres/sql/classify';

/**
 * Cedar over SQL operations built by the real classifier: actions `sql:<command>`, kind groups
 * `sql:read` / `sql:write` / `sql:ddl` / `sql:admin` / `sql:transaction`, context kind, command,
 * tables (a set), unbounded, functions and flags.
 */
function principal(groups: string[]): Principal {
  return { issuer: 'https://idp.example.test', issuerName: 'corp', subject: 'agent-1', name: 'agent', groups, kind: 'workload', tokenId: 't' };
}

function sql(text: string): Operation {
  const result = classifySql(text);
  if (!result.ok || result.statements.length !== 1) throw new Error(`expected one statement: ${text}`);
  return sqlOperation(result.statements[0]!);
}

const analysts = principal(['analysts']);
const engineers = principal(['engineers']);

beforeAll(async () => {
  await loadSqlParser();
});

describe('SQL actions in Cedar', () => {
  const engine = createPolicyEngine({
    policies: `
      @id("analysts-read") permit (principal in Gatehouse::Group::"analysts", action in Gatehouse::Action::"sql:read", resource);
      @id("engineers-sql") permit (principal in Gatehouse::Group::"engineers", action in Gatehouse::Action::"sql:any", resource);
      @id("no-unbounded-delete")
      @message("DELETE needs a WHERE clause")
      forbid (principal, action == Gatehouse::Action::"sql:delete", resource) when { context.unbounded };
      @id("review-ddl") @decision("review")
      permit (principal in Gatehouse::Group::"engineers", action in Gatehouse::Action::"sql:ddl", resource);
      @id("users-table-is-read-only")
      forbid (principal, action in Gatehouse::Action::"sql:write", resource) when { context.tables.contains("public.users") };
      @id("no-terminate")
      forbid (principal, action, resource) when { context has functions && context.functions.contains("pg_terminate_backend") };
    `,
  });

  test('a group permitted sql:read may select, and nothing else', () => {
    expect(engine.decide(analysts, 'db', sql('SELECT * FROM orders'))).toMatchObject({ effect: 'allow', reasons: ['analysts-read'] });
    expect(engine.decide(analysts, 'db', sql('SHOW search_path')).effect).toBe('allow');
    expect(engine.decide(analysts, 'db', sql('INSERT INTO orders VALUES (1)'))).toMatchObject({ effect: 'deny', code: 'policy.no_permit' });
    expect(engine.decide(analysts, 'db', sql('CREATE TABLE x (id int)')).effect).toBe('deny');
  });

  test('membership follows what the statement does: FOR UPDATE and writing CTEs are not reads', () => {
    expect(engine.decide(analysts, 'db', sql('SELECT * FROM orders FOR UPDATE')).effect).toBe('deny');
    expect(engine.decide(analysts, 'db', sql('WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d')).effect).toBe('deny');
    expect(engine.decide(analysts, 'db', sql('SELECT pg_read_file(\'/etc/passwd\')')).effect).toBe('deny');
    expect(engine.decide(analysts, 'db', sql('EXPLAIN SELECT * FROM orders')).effect).toBe('allow');
    expect(engine.decide(analysts, 'db', sql('EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1')).effect).toBe('deny');
  });

  test('unbounded deletes are forbidden, bounded ones allowed', () => {
    expect(engine.decide(engineers, 'db', sql('DELETE FROM orders'))).toMatchObject({ effect: 'deny', code: 'policy.forbid', reasons: ['no-unbounded-delete'], message: 'DELETE needs a WHERE clause' });
    expect(engine.decide(engineers, 'db', sql('DELETE FROM orders WHERE true')).effect).toBe('deny');
    expect(engine.decide(engineers, 'db', sql('DELETE FROM orders WHERE id = 7'))).toMatchObject({ effect: 'allow', reasons: ['engineers-sql'] });
  });

  test('DDL is reviewed', () => {
    expect(engine.decide(engineers, 'db', sql('ALTER TABLE orders ADD COLUMN note text'))).toMatchObject({ effect: 'review', reasons: ['review-ddl'] });
    expect(engine.decide(engineers, 'db', sql('DROP TABLE orders'))).toMatchObject({ effect: 'review' });
    expect(engine.decide(engineers, 'db', sql('UPDATE orders SET note = 1 WHERE id = 1')).effect).toBe('allow');
  });

  test('table rules read context.tables as a set of schema-qualified names', () => {
    expect(engine.decide(engineers, 'db', sql('UPDATE public.users SET name = 1 WHERE id = 1'))).toMatchObject({ effect: 'deny', reasons: ['users-table-is-read-only'] });
    expect(engine.decide(engineers, 'db', sql('INSERT INTO audit SELECT * FROM public.users'))).toMatchObject({ effect: 'deny' });
    // Unqualified names resolve through the (default) search_path: `users` is `public.users`.
    expect(engine.decide(engineers, 'db', sql('UPDATE users SET name = 1 WHERE id = 1')).effect).toBe('deny');
    expect(engine.decide(engineers, 'db', sql('UPDATE app.users SET name = 1 WHERE id = 1')).effect).toBe('allow');
    expect(engine.decide(engineers, 'db', sql('SELECT * FROM public.users')).effect).toBe('allow');
  });

  test('called functions are in context.functions', () => {
    expect(engine.decide(engineers, 'db', sql('SELECT pg_terminate_backend(42)'))).toMatchObject({ effect: 'deny', reasons: ['no-terminate'] });
    expect(engine.decide(engineers, 'db', sql('SELECT now()')).effect).toBe('allow');
  });

  test('transaction control is its own group', () => {
    const tx = createPolicyEngine({ policies: 'permit (principal, action in Gatehouse::Action::"sql:transaction", resource);' });
    for (const text of ['BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT a']) expect(tx.decide(analysts, 'db', sql(text)).effect).toBe('allow');
    expect(tx.decide(analysts, 'db', sql('SELECT 1')).effect).toBe('deny');
  });
});

describe('kindGroupOf', () => {
  test('puts an operation with a kind attribute in <prefix>:<kind>, and nothing else in a kind group', () => {
    expect(kindGroupOf({ protocol: 'postgres', action: 'sql:select', attributes: { kind: 'write' }, summary: '' })).toBe('sql:write');
    expect(kindGroupOf({ protocol: 'http', action: 'http:GET', attributes: { method: 'GET' }, summary: '' })).toBeUndefined();
    expect(kindGroupOf({ protocol: 'postgres', action: 'sql:select', attributes: { kind: 'Not A Kind"' }, summary: '' })).toBeUndefined();
  });
});
