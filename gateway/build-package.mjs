// Builds @gatehouse/gateway (run by its `prepack`): the bundle into gateway/dist/ (the same
// build as the root's dist/, without source maps in the package: package.json `files`), and the
// declarations of the public API (src/index.ts) into gateway/dist/types/.
//
// The declarations are copied only as far as index.d.ts reaches through relative imports; a
// reference to another package's types fails the build, because the package has no dependencies
// that could provide them (the bundle is self-contained).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
execFileSync(process.execPath, [join(here, 'build.mjs')], { stdio: 'inherit', env: { ...process.env, GATEHOUSE_DIST: dist } });

// A private scratch directory: builds in several worktrees may share one node_modules.
const emitted = mkdtempSync(join(tmpdir(), 'gatehouse-types-'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.types.json'), '--outDir', emitted], { stdio: 'inherit' });

const types = join(dist, 'types');
mkdirSync(types, { recursive: true });
const pending = ['index.d.ts'];
const copied = new Set();
while (pending.length > 0) {
  const file = pending.pop();
  if (copied.has(file)) continue;
  copied.add(file);
  const source = join(emitted, file);
  if (!existsSync(source)) throw new Error(`build-package: ${file} was not emitted`);
  const text = readFileSync(source, 'utf8');
  // ES module declarations name the file they import (`./errors.js` → errors.d.ts), as
  // TypeScript's node16/nodenext resolution requires for a "type": "module" package.
  const rewritten = text.replace(/((?:from|import\()\s*['"])([^'"]+)(['"])/g, (_all, open, spec, close) => {
    if (!spec.startsWith('.')) {
      throw new Error(`build-package: ${file} refers to "${spec}"; the public API's types must not need another package`);
    }
    pending.push(relative(emitted, join(dirname(source), `${spec}.d.ts`)));
    return `${open}${spec}.js${close}`;
  });
  mkdirSync(dirname(join(types, file)), { recursive: true });
  writeFileSync(join(types, file), rewritten);
}
rmSync(emitted, { recursive: true, force: true });
console.log(`@gatehouse/gateway: dist/ and ${copied.size} declaration file(s)`);
