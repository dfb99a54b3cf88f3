import { checkComplexity, MAX_NESTING } from '../../../../../gateway/src/protocols/postgres/sql/prescan';

describe('pre-scan limits', () => {
  test('deep shapes that crash or exhaust the parser are refused', () => {
    const refused = [
      `SELECT ${Array.from({ length: 20000 }, () => '1').join(' + ')}`,
      `SELECT ${Array.from({ length: 3000 }, () => "'a'").join(' || ')}`,
      `SELECT 1${'::int'.repeat(3000)}`,
      `SELECT 'a'${' COLLATE "C"'.repeat(2500)}`,
      Array.from({ length: 3000 }, () => 'SELECT 1').join(' UNION '),
      `SELECT ${'('.repeat(MAX_NESTING + 1)}1${')'.repeat(MAX_NESTING + 1)}`,
      `SELECT ${'ARRAY['.repeat(MAX_NESTING + 1)}1${']'.repeat(MAX_NESTING + 1)}`,
      `SELECT ${'CASE WHEN true THEN '.repeat(MAX_NESTING + 1)}1${' END'.repeat(MAX_NESTING + 1)}`,
      `SELECT ${'(SELECT '.repeat(600)}1${')'.repeat(600)}`,
      `SELECT ${'NOT '.repeat(3000)}true`,
    ];
    for (const sql of refused) expect({ sql: sql.slice(0, 40), why: checkComplexity(sql) }).toEqual({ sql: sql.slice(0, 40), why: expect.stringMatching(/too deep to judge/) });
  });

  test('wide statements are not deep and pass', () => {
    const passed = [
      `SELECT * FROM t WHERE id IN (${Array.from({ length: 50000 }, (_v, i) => String(i)).join(', ')})`,
      `INSERT INTO t VALUES ${Array.from({ length: 20000 }, (_v, i) => `(${i}, -${i}, 'x' || 'y')`).join(', ')}`,
      `SELECT * FROM t WHERE ${Array.from({ length: 5000 }, (_v, i) => `c${i} = ${i}`).join(' AND ')}`,
      `SELECT ${Array.from({ length: 5000 }, (_v, i) => `a${i} + b${i}`).join(', ')} FROM t`,
      `SELECT ${'('.repeat(100)}1${')'.repeat(100)}`,
      `SELECT ${Array.from({ length: 1500 }, () => '1').join(' + ')}`,
    ];
    for (const sql of passed) expect(checkComplexity(sql)).toBeUndefined();
  });

  test('quoted text, identifiers, dollar quotes and comments are not counted', () => {
    const inside = '('.repeat(5000) + ' + '.repeat(5000);
    for (const sql of [
      `SELECT '${inside}'`,
      `SELECT E'\\'${inside}'`,
      `SELECT "${inside.replace(/"/g, '')}"`,
      `SELECT $$${inside}$$`,
      `SELECT $tag$${inside}$tag$`,
      `SELECT 1 -- ${inside}\n`,
      `SELECT 1 /* ${inside} /* nested */ ${inside} */`,
    ]) {
      expect(checkComplexity(sql)).toBeUndefined();
    }
    // But what follows a closed quote counts again.
    expect(checkComplexity(`SELECT 'x', ${'('.repeat(MAX_NESTING + 1)}`)).toMatch(/nested more than/);
  });

  test('a new statement starts afresh', () => {
    const half = `SELECT ${Array.from({ length: 1500 }, () => '1').join(' + ')}`;
    expect(checkComplexity(`${half}; ${half}`)).toBeUndefined();
  });
});
