import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import * as cedar from '@cedar-policy/cedar-wasm/web';
import { GatehouseError } from '../errors';

/**
 * Loads Cedar's WebAssembly module once per process.
 *
 * Why the `web` build: the `nodejs` build is CommonJS and reads its .wasm from `__dirname` when it is
 * imported, which breaks inside an ESM bundle; the `esm` build imports the .wasm as a module, which
 * Node 20 does not support. The `web` build exposes `initSync({ module })`, so we read the bytes
 * ourselves and keep import cheap (initialisation costs ~40 ms and happens only when a policy engine
 * is created).
 *
 * Where the bytes come from, first match wins:
 *  1. `GATEHOUSE_CEDAR_WASM` (an explicit path, for unusual layouts);
 *  2. `cedar_wasm_bg.wasm` beside the running module: in the esbuild bundle that is
 *     `dist/cedar_wasm_bg.wasm`, which the build copies from the package;
 *  3. the installed package (running from source, tests).
 */
export const CEDAR_WASM_FILE = 'cedar_wasm_bg.wasm';

let loaded = false;

export function cedarWasmCandidates(): string[] {
  const candidates: string[] = [];
  const fromEnv = process.env.GATEHOUSE_CEDAR_WASM;
  if (fromEnv) candidates.push(fromEnv);
  try {
    candidates.push(fileURLToPath(new URL(`./${CEDAR_WASM_FILE}`, import.meta.url)));
  } catch {
    // import.meta.url is not a file URL (unusual hosts): skip this candidate.
  }
  try {
    // The package exports `./nodejs` under the `require` condition; its folder holds the same
    // bytes as the web build's, but resolve `web/` to be exact about what we instantiate.
    const nodeEntry = createRequire(import.meta.url).resolve('@cedar-policy/cedar-wasm/nodejs');
    candidates.push(join(dirname(nodeEntry), '..', 'web', CEDAR_WASM_FILE));
  } catch {
    // No node_modules (the bundle): the file beside the bundle is the only source.
  }
  return candidates;
}

/** Returns the initialised Cedar bindings; throws GH_ERR_POLICY_FAILED when the .wasm cannot be found. */
export function loadCedar(): typeof cedar {
  if (loaded) return cedar;
  const candidates = cedarWasmCandidates();
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new GatehouseError(
      'GH_ERR_POLICY_FAILED',
      `the Cedar policy engine (${CEDAR_WASM_FILE}) was not found; looked in: ${candidates.join(', ')}. ` +
        `Copy it beside the gateway bundle or set GATEHOUSE_CEDAR_WASM.`,
      { details: { candidates } },
    );
  }
  // Node 20's V8 crashes the whole process (fatal "unreachable code" in
  // Deoptimizer::DoComputeBuiltinContinuation) when TurboFan has inlined a JS→Wasm call and the
  // calling function is lazily deoptimised, which happens under ordinary traffic once principals of
  // a new object shape arrive. Not inlining these calls costs nothing measurable next to a Cedar
  // evaluation. The flag only affects code optimised after this point, so set it before first use.
  setFlagsFromString('--no-turbo-inline-js-wasm-calls');
  try {
    cedar.initSync({ module: readFileSync(path) });
  } catch (e) {
    throw new GatehouseError('GH_ERR_POLICY_FAILED', `the Cedar policy engine at ${path} could not be initialised`, {
      cause: e,
      details: { path },
    });
  }
  loaded = true;
  return cedar;
}
