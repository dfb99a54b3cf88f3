// The prebuilt provider bindings are named in one file per cloud (constructs/gcp/providers.ts):
// CDKTF is archived, and a move to a successor should change that file, not every construct.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/from '(@cdktf\/provider-[^']+)'/g)].map((m) => m[1]);

test('only providers.ts imports @cdktf/provider-google (constructs/gcp and stacks/gcp), and by deep path', () => {
  const files = ['constructs/gcp', 'stacks/gcp'].flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)));
  expect(files.filter((f) => importsOf(f).length > 0)).toEqual(['constructs/gcp/providers.ts']);
  const facade = importsOf('constructs/gcp/providers.ts');
  expect(facade.length).toBeGreaterThan(10);
  // A deep path to the binding's file (index.js): ES modules, as cdktf.json's app command runs, do not resolve directories.
  for (const spec of facade) expect(spec).toMatch(/^@cdktf\/provider-google(-beta)?\/lib\/[a-z0-9-]+\/index\.js$/);
});
