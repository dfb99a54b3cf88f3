import { docRuleRows, missingTests, namedTests } from '../../support/docs-rules';

const rows = docRuleRows('docs/gcp.md');

test('the table lists the rules, each with at least one named test', () => {
  expect(rows.length).toBeGreaterThanOrEqual(25);
  for (const row of rows) expect([row.slice(0, 60), namedTests(row, 'test/constructs/gcp').length > 0]).toEqual([row.slice(0, 60), true]);
});

test('every test the table names exists under that title', () => {
  expect(missingTests(rows, 'test/constructs/gcp')).toEqual([]);
});
