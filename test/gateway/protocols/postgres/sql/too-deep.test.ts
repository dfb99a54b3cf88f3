import { classifySql, loadSqlParser } from '../../../../../gateway/src/protocols/postgres/sql/classify';
import { pgParserRestarts } from '../../../../../gateway/src/protocols/postgres/sql/parser';

// Its own file: the test replaces the process's parser instance.
beforeAll(async () => {
  await loadSqlParser();
});

test('a statement nested too deeply for the parser is refused, and the parser is replaced, not reused', async () => {
  // A left-deep chain of 20000 additions: far beyond the parser's WebAssembly stack.
  const deep = `SELECT ${Array.from({ length: 20000 }, () => '1').join(' + ')}`;
  expect(classifySql(deep)).toEqual({ ok: false, error: 'the statement is too complex for the SQL parser (nested too deeply)' });
  expect(pgParserRestarts()).toBe(1);
  // While the fresh instance loads, statements are refused (fail closed) and not remembered as such.
  expect(classifySql('SELECT 7777')).toEqual({ ok: false, error: 'the SQL parser is restarting; try again' });
  await loadSqlParser();
  expect(classifySql('SELECT 7777')).toMatchObject({ ok: true, statements: [{ command: 'select' }] });
  // Each further attempt traps and restarts again (texts this long are not cached): still refused.
  expect(classifySql(deep).ok).toBe(false);
  expect(pgParserRestarts()).toBe(2);
  await loadSqlParser();
  // Ordinary nesting still parses on the new instance.
  expect(classifySql(`SELECT ${Array.from({ length: 500 }, () => '1').join(' + ')}`).ok).toBe(true);
});
