import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPolicies } from '../../../gateway/src/policy/engine';

/** Every ```cedar block in docs/policy.md loads: examples people copy must not have typos. */
const root = join(new URL('.', import.meta.url).pathname, '../../..');
const doc = readFileSync(join(root, 'docs/policy.md'), 'utf8');
const blocks = [...doc.matchAll(/```cedar\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Blocks that list scope fragments rather than whole policies.
const fragments = blocks.filter((b) => !/;\s*$/.test(b.trim()));

test('docs/policy.md has Cedar examples', () => {
  expect(blocks.length).toBeGreaterThan(5);
});

test.each(blocks.filter((b) => !fragments.includes(b)).map((b, i) => [i, b]))('example %i loads', (_i, text) => {
  expect(checkPolicies([{ name: 'docs/policy.md', text: text as string }])).toEqual([]);
});
