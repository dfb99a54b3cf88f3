import { readFileSync } from 'node:fs';

/**
 * docs/deployment.md's security parity table promises a test per row per cloud whose title starts
 * with the row id. This holds the table to that: a row without its three tests, or a parity test
 * for a property the table does not list, fails here.
 */
const doc = readFileSync('docs/deployment.md', 'utf8');
const section = doc.slice(doc.indexOf('## Security parity'));
const ids = [...section.slice(0, section.indexOf('\n## ', 5)).matchAll(/^\| ([a-z0-9-]+) \|/gm)].map((m) => m[1]!).filter((id) => id !== 'id');

const clouds = ['aws', 'azure', 'gcp'] as const;
const titleIds = (cloud: string) =>
  [...readFileSync(`test/constructs/${cloud}/parity.test.ts`, 'utf8').matchAll(/\b(?:test|it)\(\s*['"`]([a-z0-9-]+):/g)].map((m) => m[1]!);

test('the table has its rows', () => {
  expect(ids.length).toBeGreaterThanOrEqual(13);
  expect(new Set(ids).size).toBe(ids.length);
});

test.each(clouds)('every row has a %s parity test titled with its id, and every such test has a row', (cloud) => {
  const tested = titleIds(cloud);
  expect(ids.filter((id) => !tested.includes(id))).toEqual([]);
  expect(tested.filter((id) => !ids.includes(id))).toEqual([]);
});
