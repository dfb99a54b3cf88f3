import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import { GatehouseError, toGatehouseError } from '../errors';
import type { Detection, Detector } from './detector';
import { addCounts, applySpans, findDetections, resolveOverlaps, type MaskCounts } from './redact';
import type { Replacement } from './replacement';

export interface StreamRedactorOptions {
  readonly detectors: readonly Detector[];
  readonly replacement: Replacement;
}

export interface StreamRedactor {
  /** Takes the next piece of text; returns what can be released now (possibly empty). */
  push(chunk: string): string;
  /** No more text: returns everything still held, redacted. */
  end(): string;
  /** Masked items so far, by type (a copy). */
  readonly counts: MaskCounts;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * The longest text the streaming window may have to hold for one match. Larger declared lengths
 * are refused at start-up: holding more would let one rule stall a stream and grow its memory.
 */
export const MAX_CARRY = 65_536;

/** Left context kept for marker-anchored detectors: what precedes their match (a JSON key, a boundary). */
const ANCHORED_CONTEXT = 256;
/** Room for look-behinds before the earliest match start a window may have to see again. */
const LOOKBEHIND_SLACK = 64;

function checkedMaxLength(d: Detector): number {
  if (!Number.isInteger(d.maxLength) || d.maxLength < 1) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `masking detector ${d.id} has no finite positive maxLength`, {
      details: { detector: d.id },
    });
  }
  if (d.maxLength > MAX_CARRY) {
    throw new GatehouseError(
      'GH_ERR_CONFIG_INVALID',
      `masking detector ${d.id} declares maxLength ${d.maxLength}, above the ${MAX_CARRY}-character streaming window`,
      { details: { detector: d.id, maxLength: d.maxLength } },
    );
  }
  return d.maxLength;
}

/** The longest match any detector can produce (validated: finite, positive, at most MAX_CARRY). */
export function longestMatch(detectors: readonly Detector[]): number {
  let max = 1;
  for (const d of detectors) max = Math.max(max, checkedMaxLength(d));
  return max;
}

/** Released text kept as left context: enough for every match that may start before the release point. */
function contextLength(detectors: readonly Detector[]): number {
  let n = 1;
  for (const d of detectors) {
    const own = typeof d.pendingFrom === 'function' ? Math.min(d.maxLength, ANCHORED_CONTEXT) : d.maxLength;
    n = Math.max(n, own + LOOKBEHIND_SLACK);
  }
  return n;
}

/** Where the text that must stay held begins: the earliest start of a match more text could change. */
function holdFrom(scan: string, detectors: readonly Detector[]): number {
  let from = scan.length;
  for (const d of detectors) {
    const plain = scan.length - (d.maxLength - 1);
    let at = plain;
    if (typeof d.pendingFrom === 'function') {
      let p: number;
      try {
        p = d.pendingFrom(scan);
      } catch {
        throw new GatehouseError('GH_ERR_MASKING_FAILED', `masking detector ${d.id} failed`, { details: { detector: d.id } });
      }
      if (!Number.isInteger(p) || p < 0 || p > scan.length) {
        throw new GatehouseError('GH_ERR_MASKING_FAILED', `masking detector ${d.id} returned an invalid hold-back`, {
          details: { detector: d.id },
        });
      }
      // A match is never longer than maxLength, so nothing before `plain` can still be pending.
      at = Math.max(p, plain);
    }
    from = Math.min(from, at);
  }
  return from;
}

/**
 * Redacts text that arrives in pieces, with the same output as `redactText` on the whole text.
 *
 * Why that holds: a match is at most `maxLength` characters long, so any match of a detector
 * that still needs text we have not seen starts within its last `maxLength - 1` characters (or,
 * for a marker-anchored detector, at the place its `pendingFrom` names); the text from the
 * earliest such place is held back and scanned again with the next chunk. A match found across
 * the release point is held back whole. Released characters are kept (unmasked, never emitted
 * again) as left context, as many as the longest match that may begin before the release point
 * plus room for look-behinds, so rules see what precedes a match as in the whole string. The
 * window therefore follows the selected detectors: short rules give a short window, and a
 * 16 000-character PEM rule costs a long one only while a key may be arriving.
 *
 * Fails closed: after any error every later call throws, so no unredacted text is released.
 */
export function createStreamRedactor(options: StreamRedactorOptions): StreamRedactor {
  const { detectors, replacement } = options;
  longestMatch(detectors);
  const keep = contextLength(detectors);
  const counts: MaskCounts = {};
  let context = '';
  let held = '';
  let failure: unknown;
  let ended = false;

  function release(final: boolean): string {
    const scan = context + held;
    const ctx = context.length;
    if (detectors.length === 0) {
      held = '';
      return scan.slice(ctx);
    }
    const spans: Detection[] = [];
    for (const s of resolveOverlaps(findDetections(scan, detectors))) {
      if (s.end <= ctx) continue; // already released in an earlier call
      // A span reaching into released context cannot happen for local detectors; if one does,
      // mask the part we still hold rather than let it through.
      spans.push(s.start < ctx ? { ...s, start: ctx } : s);
    }
    let cut = final ? scan.length : Math.max(ctx, holdFrom(scan, detectors));
    if (!final) {
      for (let changed = true; changed; ) {
        changed = false;
        // Never split a surrogate pair: a byte stream would encode each half as U+FFFD.
        if (cut > ctx && isHighSurrogate(scan.charCodeAt(cut - 1))) {
          cut -= 1;
          changed = true;
        }
        for (const s of spans) {
          if (s.start < cut && s.end > cut) {
            cut = s.start;
            changed = true;
          }
        }
      }
    }
    const releasable = spans.filter((s) => s.end <= cut);
    const local: MaskCounts = {};
    const out = applySpans(scan, ctx, cut, releasable, replacement, local);
    addCounts(counts, local);
    context = scan.slice(Math.max(0, cut - keep), cut);
    held = scan.slice(cut);
    return out;
  }

  function guarded(fn: () => string): string {
    if (failure !== undefined) throw failure;
    try {
      return fn();
    } catch (e) {
      failure = toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking failed');
      context = '';
      held = '';
      throw failure;
    }
  }

  return {
    push(chunk: string): string {
      return guarded(() => {
        if (ended) throw new GatehouseError('GH_ERR_MASKING_FAILED', 'stream redactor used after end');
        if (chunk.length === 0) return '';
        held += chunk;
        return release(false);
      });
    },
    end(): string {
      return guarded(() => {
        if (ended) throw new GatehouseError('GH_ERR_MASKING_FAILED', 'stream redactor ended twice');
        ended = true;
        return release(true);
      });
    },
    get counts(): MaskCounts {
      return { ...counts };
    },
  };
}

/**
 * A byte-stream (UTF-8) redactor for chunked HTTP bodies and server-sent events. Characters
 * split across chunks are reassembled by a StringDecoder before detection. Any masking error
 * destroys the stream with GH_ERR_MASKING_FAILED; nothing unredacted is pushed.
 */
export class RedactingTransform extends Transform {
  private readonly redactor: StreamRedactor;
  private readonly decoder = new StringDecoder('utf8');

  constructor(options: StreamRedactorOptions) {
    super();
    this.redactor = createStreamRedactor(options);
  }

  get counts(): MaskCounts {
    return this.redactor.counts;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    let out: string;
    try {
      out = this.redactor.push(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    } catch (e) {
      callback(toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking failed'));
      return;
    }
    if (out.length > 0) this.push(Buffer.from(out, 'utf8'));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    let out: string;
    try {
      out = this.redactor.push(this.decoder.end());
      out += this.redactor.end();
    } catch (e) {
      callback(toGatehouseError(e, 'GH_ERR_MASKING_FAILED', 'masking failed'));
      return;
    }
    if (out.length > 0) this.push(Buffer.from(out, 'utf8'));
    callback();
  }
}

export function createRedactingTransform(options: StreamRedactorOptions): RedactingTransform {
  return new RedactingTransform(options);
}
