import { classifySql, loadSqlParser } from '../../../../../gateway/src/protocols/postgres/sql/classify';
import { parserEventCounts } from '../../../../../gateway/src/protocols/postgres/sql/parser-events';
import { parsePg, pgParserInstancesReady, pgParserRestarts, PG_PARSER_INSTANCES } from '../../../../../gateway/src/protocols/postgres/sql/parser';

// Its own file: the test replaces the process's parser instances.
beforeAll(async () => {
  await loadSqlParser();
});

test('a statement nested too deeply is refused before it reaches the parser, and counted', () => {
  const before = parserEventCounts().too_complex;
  // A left-deep chain of 20000 additions: far beyond the parser's WebAssembly stack.
  const deep = `SELECT ${Array.from({ length: 20000 }, () => '1').join(' + ')}`;
  expect(classifySql(deep)).toMatchObject({ ok: false, error: expect.stringMatching(/too deep to judge/) });
  expect(pgParserRestarts()).toBe(0);
  expect(parserEventCounts().too_complex).toBe(before + 1);
});

test('a parser instance that traps is replaced; the other instances keep parsing every other statement', async () => {
  // Given straight to the parser (bypassing the pre-scan): this traps the instance that parses it.
  const deep = `SELECT ${Array.from({ length: 20000 }, () => '1').join(' + ')}`;
  expect(() => parsePg(deep)).toThrow(/too complex/);
  expect(pgParserRestarts()).toBe(1);
  expect(pgParserInstancesReady()).toBe(PG_PARSER_INSTANCES - 1);
  // At once, while the replacement loads: others' statements are classified, none refused.
  for (let i = 0; i < 50; i++) expect(classifySql(`SELECT ${i + 7777}`)).toMatchObject({ ok: true, statements: [{ command: 'select' }] });
  // Each further trap costs one more instance, never the last statement's answer.
  expect(() => parsePg(deep)).toThrow(/too complex/);
  expect(classifySql('SELECT 8888')).toMatchObject({ ok: true });
  await loadSqlParser();
  expect(pgParserInstancesReady()).toBe(PG_PARSER_INSTANCES);
  // Ordinary nesting still parses on the new instances.
  expect(classifySql(`SELECT ${Array.from({ length: 500 }, () => '1').join(' + ')}`).ok).toBe(true);
});
