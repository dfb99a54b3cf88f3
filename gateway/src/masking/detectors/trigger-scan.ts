/**
 * The SIMD pre-pass of the single-pass engine (single-pass.ts): finds, sixteen characters at a
 * time in WebAssembly, every offset where a built-in rule could start or be anchored, so the
 * JavaScript side visits a few percent of a body's characters instead of searching it once per
 * trigger (fifteen indexOf passes and a regex over every character cost more than half of
 * masking a large JSON body). trigger-scan.wat has the classifier; the events are:
 *
 * - `+ ( : = @` themselves;
 * - the second character of a digit run (a digit or `.`) when the run starts after none of
 *   `[a-z0-9_.]`: the run start is one before;
 * - the second character of `gh`, `gl`, `_p`, `_k`, `k_`, `m_`, `f_`, `BE`, `k-`, `i-`, `xo`,
 *   `AK`, `AI`, `AS`, `yJ`, and of the classifier's supersets, which the caller ignores:
 *   `` _` `` and `_{`, and any of `B I K b i k` before any of `% - E M`.
 *
 * Text is copied in chunks into a small fixed memory (128 KiB), so a body of any size costs no
 * more memory; offsets come back absolute, in increasing order.
 */
import { loadWasm } from '../wasm';
import { WASM_BASE64 } from './trigger-scan-wasm';

/** Code units per chunk; the input half of memory holds CONTEXT + CHUNK + 16. */
export const TRIGGER_CHUNK = 16384;
/** Code units before a chunk that the classifier reads as context (the previous characters). */
const CONTEXT = 16;
/** Byte offset of the output (the second 64 KiB page, one i32 per possible event). */
const OUT = 65536;

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  scan(start: number, end: number, out: number, base: number): number;
}

export interface TriggerScanner {
  /**
   * Scans `text[from, to)` (at most TRIGGER_CHUNK code units; the characters before `from` are
   * read as context) and returns how many event offsets are now in `events[0, count)`.
   */
  scan(text: string, from: number, to: number): number;
  /** The event offsets of the last scan (a view of the module's memory, overwritten by the next). */
  readonly events: Int32Array;
}

function load(): TriggerScanner | undefined {
  const exports = loadWasm<Exports>(WASM_BASE64);
  if (exports === undefined) return undefined;
  const { memory, scan } = exports;
  const input = Buffer.from(memory.buffer, 0, OUT);
  const events = new Int32Array(memory.buffer, OUT, TRIGGER_CHUNK);
  return {
    events,
    scan(text: string, from: number, to: number): number {
      if (to - from > TRIGGER_CHUNK || from < 0 || to > text.length || from >= to) {
        throw new RangeError(`trigger scan of [${from}, ${to}) in ${text.length} code units`);
      }
      if (from === 0) {
        input.fill(0, 0, CONTEXT * 2);
        input.write(text.slice(0, to), CONTEXT * 2, 'utf16le');
      } else {
        const ctx = Math.min(CONTEXT, from);
        if (ctx < CONTEXT) input.fill(0, 0, (CONTEXT - ctx) * 2);
        input.write(text.slice(from - ctx, to), (CONTEXT - ctx) * 2, 'utf16le');
      }
      return scan(CONTEXT, CONTEXT + to - from, OUT, from - CONTEXT);
    },
  };
}

/** The scanner, or undefined where WebAssembly SIMD is not available. */
export const triggerScanner: TriggerScanner | undefined = load();
