import { readFileSync } from 'node:fs';

/**
 * A cloud doc's "Apply-time rules the kit follows" table names, for each rule, the tests that
 * encode it: `file.test.ts` ("title", "title prefix…"). These checks keep the table true to the
 * tests: a renamed or removed test fails here, not silently in the doc.
 */
export function docRuleRows(docPath: string): string[] {
  const doc = readFileSync(docPath, 'utf8');
  const table = doc.slice(doc.indexOf('## Apply-time rules the kit follows'));
  return table
    .slice(0, table.indexOf('\n\n', table.indexOf('| rule |')))
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| rule'));
}

/** Each (file, title) a row's last cell names; a bare file name is under `defaultDir`. */
export function namedTests(row: string, defaultDir: string): [string, string][] {
  const cell = row.split(' | ').pop()!;
  const out: [string, string][] = [];
  for (const [, file, titles] of cell.matchAll(/`([^`]+\.test\.ts)` \(([^)]*)\)/g)) {
    for (const [, title] of titles.matchAll(/"([^"]+)"/g)) out.push([file.includes('/') ? file : `${defaultDir}/${file}`, title]);
  }
  return out;
}

/** Every test title in a file (`test(`, `it(`, `test.each(...)(`), quotes unescaped. */
function titlesIn(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/\b(?:test|it)(?:\.each\([\s\S]*?\))?\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2]!.replace(/\\(.)/g, '$1'));
}

/** The named tests no title in that file contains (a fragment may end in "…"). */
export function missingTests(rows: string[], defaultDir: string): [string, string][] {
  return rows.flatMap((row) => namedTests(row, defaultDir)).filter(([file, title]) => {
    const fragment = title.replace(/…$/, '');
    return !titlesIn(file).some((t) => t.includes(fragment));
  });
}
