// The esbuild options of the one gateway bundle, shared by the build (gateway/build.mjs) and the
// tests that run real gateway processes from a bundle of their own (test/support/gateway-process.ts),
// so a test never runs a bundle built differently from the one that ships.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** @param {string} root the repository root; @param {string} outdir */
export function gatewayBundleOptions(root, outdir) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    entryPoints: { gateway: join(root, 'gateway/src/main.ts') },
    outdir,
    outExtension: { '.js': '.mjs' },
    // Cloud SDKs and protocol modules are imported on demand: splitting keeps them out of the
    // start-up path (cold start grows with the code evaluated, not with the files on disk).
    splitting: true,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    define: { GATEHOUSE_VERSION: JSON.stringify(pkg.version) },
    // CommonJS dependencies inside an ES module bundle still call require() for Node built-ins...
    banner: {
      js: [
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
  };
}
