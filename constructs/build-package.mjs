// Builds one construct package (`node build-package.mjs aws|cdktf`, run by its `prepack`):
// compiles its tsconfig.build.json into a clean build/ directory.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const name = process.argv[2];
if (name !== 'aws' && name !== 'cdktf') throw new Error('usage: node build-package.mjs aws|cdktf');
const dir = join(dirname(fileURLToPath(import.meta.url)), name);
rmSync(join(dir, 'build'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
