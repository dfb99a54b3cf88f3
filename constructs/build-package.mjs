// Builds one construct package (`node build-package.mjs aws|cdktf`, run by its `prepack`):
// compiles its tsconfig.build.json into a clean build/ directory, then checks that every package
// the shipped declarations name is one the package declares (a dependency or a peer), so a
// consumer's type-check never meets an import it cannot resolve.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
if (name !== 'aws' && name !== 'cdktf') throw new Error('usage: node build-package.mjs aws|cdktf');
const dir = join(dirname(fileURLToPath(import.meta.url)), name);
const build = join(dir, 'build');
rmSync(build, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });

const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const undeclared = new Set();
for (const entry of readdirSync(build, { recursive: true })) {
  if (!String(entry).endsWith('.d.ts')) continue;
  const text = readFileSync(join(build, String(entry)), 'utf8');
  for (const [, spec] of text.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
    if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
    if (!declared.has(packageOf(spec))) undeclared.add(`${entry}: ${spec}`);
  }
}
if (undeclared.size > 0) throw new Error(`build-package ${name}: declarations import undeclared packages:\n${[...undeclared].join('\n')}`);
