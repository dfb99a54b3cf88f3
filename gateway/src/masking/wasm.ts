/**
 * Which engine a masking hot path runs: its WebAssembly pre-pass above a size where the copy into
 * module memory pays (`auto`, the default), on every input, or never (the JavaScript path). Both
 * give the same results; tests run each, benchmarks compare them.
 */
export type WasmEngineMode = 'auto' | 'always' | 'never';

/**
 * The engine a hot path uses under `mode`, and the input length from which it uses it: `never`
 * gives none, `always` every input, `auto` inputs of `autoMinLength` or more.
 */
export function engineFor<T>(mode: WasmEngineMode, available: T | undefined, autoMinLength: number): { engine: T | undefined; minLength: number } {
  return { engine: mode === 'never' ? undefined : available, minLength: mode === 'always' ? 1 : autoMinLength };
}

/** The few WebAssembly APIs used here (the project's lib, ES2023 without DOM, does not declare them). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: object };
}

/**
 * Instantiates one of the masking engine's WebAssembly modules (compiled from its .wat by
 * `npm run build:wasm`), or returns undefined where the runtime lacks WebAssembly or SIMD: the
 * callers then keep their JavaScript path, which gives the same results, slower.
 */
export function loadWasm<T extends object>(base64: string): T | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const bytes = Buffer.from(base64, 'base64');
  if (wasm === undefined || !wasm.validate(bytes)) return undefined;
  return new wasm.Instance(new wasm.Module(bytes), {}).exports as T;
}
