// docs/gcp.md's table of apply-time rules names, for each rule, the test that encodes it: this
// keeps the table true to the tests (a renamed or removed test fails here, not silently in the doc).
import { readFileSync } from 'node:fs';

const doc = readFileSync('docs/gcp.md', 'utf8');
const table = doc.slice(doc.indexOf('## Apply-time rules the kit follows'));
const rows = table.slice(0, table.indexOf('\n\n', table.indexOf('| rule |'))).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| rule'));

/** Each (file, test title fragment) a row's last cell names: `file` ("fragment", "fragment"). */
function namedTests(cell: string): [string, string][] {
  const out: [string, string][] = [];
  for (const [, file, titles] of cell.matchAll(/`([^`]+\.test\.ts)` \(([^)]*)\)/g)) {
    for (const [, title] of titles.matchAll(/"([^"]+)"/g)) out.push([file.includes('/') ? file : `test/constructs/gcp/${file}`, title]);
  }
  return out;
}

test('the table lists the rules, each with at least one named test', () => {
  expect(rows.length).toBeGreaterThanOrEqual(25);
  for (const row of rows) expect(namedTests(row.split(' | ').pop()!)).not.toEqual([]);
});

test('every test the table names exists under that title', () => {
  const missing = rows.flatMap((row) => namedTests(row.split(' | ').pop()!)).filter(([file, title]) => {
    const source = readFileSync(file, 'utf8').replace(/\\'/g, "'");
    return !source.includes(`test('${title}`);
  });
  expect(missing).toEqual([]);
});
