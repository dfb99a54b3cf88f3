// Builds the one gateway bundle: dist/gateway.mjs, runnable with plain `node` and no node_modules.
// WASM assets the bundle loads at run time are copied beside it (dist/).
import { build } from 'esbuild';
import { chmodSync, cpSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewayBundleOptions } from './bundle-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// GATEHOUSE_DIST: build elsewhere (benchmarks compare builds side by side).
const out = process.env.GATEHOUSE_DIST ?? join(root, 'dist');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const started = Date.now();
const options = gatewayBundleOptions(root, out);
await build({
  ...options,
  // gateway.mjs: the command; index.mjs: the public API (`exports` of @gatehouse/gateway).
  entryPoints: { ...options.entryPoints, index: join(root, 'gateway/src/index.ts') },
  sourcemap: 'linked',
  legalComments: 'linked',
  banner: { js: `#!/usr/bin/env node\n${options.banner.js}` },
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
for (const [from, to] of (await import('./assets.mjs')).programs) {
  cpSync(join(root, from), join(out, to));
  chmodSync(join(out, to), 0o755);
}
// CA bundles for verify-full TLS to managed databases (gateway/ca-bundles.mjs), with their licence.
const { caBundles } = await import('./ca-bundles.mjs');
for (const [file, pem, licence] of caBundles()) {
  writeFileSync(join(out, file), pem);
  cpSync(join(root, 'node_modules', licence), join(out, `${file}.LICENSE.txt`));
}
console.log(`built dist/gateway.mjs in ${Date.now() - started} ms (${assets.length} assets)`);
