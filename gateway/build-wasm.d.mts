/** The .wat files under `dir` (default: gateway/src), recursively, sorted. */
export function watSources(dir?: string): string[];
/** The TypeScript module text that `npm run build:wasm` writes for one .wat file. */
export function compileWat(file: string): Promise<string>;
/** Where the module for a .wat file goes (`name.wat` -> `name-wasm.ts`). */
export function outputOf(file: string): string;
