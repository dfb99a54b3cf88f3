// Builds the one gateway bundle: dist/gateway.mjs, runnable with plain `node` and no node_modules.
// WASM assets the bundle loads at run time are copied beside it (dist/).
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// GATEHOUSE_DIST: build elsewhere (benchmarks compare builds side by side).
const out = process.env.GATEHOUSE_DIST ?? join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const started = Date.now();
await build({
  // gateway.mjs: the command; index.mjs: the public API (`exports` of @gatehouse/gateway).
  entryPoints: { gateway: join(root, 'gateway/src/main.ts'), index: join(root, 'gateway/src/index.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  // Cloud SDKs and protocol modules are imported on demand: splitting keeps them out of the
  // start-up path (cold start grows with the code evaluated, not with the files on disk).
  splitting: true,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  define: { GATEHOUSE_VERSION: JSON.stringify(pkg.version) },
  // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __gatehouseCreateRequire } from 'node:module';",
      'const require = __gatehouseCreateRequire(import.meta.url);',
      // ...and some read __dirname at load (ssh2's emscripten-built poly1305 locates itself by it).
      "import { fileURLToPath as __gatehouseFileURLToPath } from 'node:url';",
      "import { dirname as __gatehouseDirname } from 'node:path';",
      'const __dirname = __gatehouseDirname(__gatehouseFileURLToPath(import.meta.url));',
    ].join('\n'),
  },
  // Optional native accelerators some dependencies probe for (inside try/catch); the pure-JS
  // fallback is used where they are absent: pg-native for pg, and for ssh2 its own crypto
  // binding (a .node file) and cpu-features (ssh2 then uses Node's crypto for AES-GCM and its JS
  // ChaCha20-Poly1305).
  external: ['pg-native', 'cpu-features', '*.node'],
});

// Run-time assets that esbuild cannot inline (see each module for how it finds them).
const assets = [
  // [source in node_modules, name in dist/]
  ...(await import('./assets.mjs')).assets,
];
for (const [from, to] of assets) {
  const src = join(root, 'node_modules', from);
  if (!existsSync(src)) throw new Error(`build: asset ${from} not found (is it installed?)`);
  cpSync(src, join(out, to));
}
// CA bundles for verify-full TLS to managed databases (gateway/ca-bundles.mjs), with their licence.
const { caBundles } = await import('./ca-bundles.mjs');
for (const [file, pem, licence] of caBundles()) {
  writeFileSync(join(out, file), pem);
  cpSync(join(root, 'node_modules', licence), join(out, `${file}.LICENSE.txt`));
}
console.log(`built dist/gateway.mjs in ${Date.now() - started} ms (${assets.length} assets)`);
