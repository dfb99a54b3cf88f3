/**
 * The JSON masker's structure walk in WebAssembly (json-scan.wat): one pass over a body in
 * chunks that checks the structure between strings and reports where every string begins and
 * ends and whether it holds a backslash. The JavaScript walk it replaces spent most of its time
 * finding closing quotes and stepping over the one-character gaps between strings; here the
 * JavaScript side visits only strings that hold an escape or a detection.
 */
import { WASM_BASE64 } from './json-scan-wasm';
import { loadWasm } from './wasm';

/** Code units per chunk (the input page holds it and LOOKAHEAD more, two bytes each). */
export const JSON_SCAN_CHUNK = 16384;
/** Code units after a chunk that a literal starting in it may read (`false` is five). */
const LOOKAHEAD = 8;
/** Byte offset of the output: two i32 per string that ends in the chunk. */
const OUT = 65536;

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  reset(): void;
  finish(): number;
  walk(end: number, lookEnd: number, base: number, out: number): number;
}

export interface JsonScanner {
  /** Starts a walk over a new text. */
  reset(): void;
  /**
   * Walks `text[from, to)` (the next chunk: `from` is where the last one ended, or 0; at most
   * JSON_SCAN_CHUNK code units). Returns how many strings ended in it, their quotes in
   * `strings[2k]` (opening) and `strings[2k + 1]` (closing, negative when the string holds a
   * backslash: the offset is `& 0x7fffffff`), or -1 when the text is not JSON.
   */
  walk(text: string, from: number, to: number): number;
  /** After the last chunk: whether the text was JSON (no open string or bracket, a value seen). */
  finish(): boolean;
  /** The strings of the last chunk (a view of the module's memory, overwritten by the next). */
  readonly strings: Int32Array;
}

function create(exports: Exports): JsonScanner {
  const input = Buffer.from(exports.memory.buffer, 0, OUT);
  return {
    strings: new Int32Array(exports.memory.buffer, OUT, JSON_SCAN_CHUNK),
    reset: () => exports.reset(),
    finish: () => exports.finish() === 1,
    walk(text: string, from: number, to: number): number {
      if (to - from > JSON_SCAN_CHUNK || from < 0 || to > text.length || from >= to) {
        throw new RangeError(`JSON scan of [${from}, ${to}) in ${text.length} code units`);
      }
      const lookEnd = Math.min(text.length, to + LOOKAHEAD);
      input.write(text.slice(from, lookEnd), 0, 'utf16le');
      return exports.walk(to - from, lookEnd - from, from, OUT);
    },
  };
}

/** The scanner, or undefined where WebAssembly SIMD is not available (the JavaScript walk is used). */
export const jsonScanner: JsonScanner | undefined = ((e) => (e === undefined ? undefined : create(e)))(loadWasm<Exports>(WASM_BASE64));
