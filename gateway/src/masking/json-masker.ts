import { GatehouseError } from '../errors';
import type { Detection, Detector } from './detector';
import { addCounts, applySpans, findDetections, redactText, resolveOverlaps, type MaskCounts } from './redact';
import { JSON_SCAN_CHUNK, jsonScanner, type JsonScanner } from './json-scan';
import type { Replacement } from './replacement';
import { engineFor, type WasmEngineMode } from './wasm';

/**
 * A path rule: `$.user.email`, `$.items[*].token`, `$..password`, `$['odd key'][0]`. A matched
 * value is masked whole: a string or number becomes the replacement, an object or array keeps
 * its shape with every scalar below it masked, null stays null.
 */
export type JsonPathRule = string | { readonly path: string; /** @default 'json_path' */ readonly type?: string };

export interface JsonMaskerOptions {
  readonly detectors: readonly Detector[];
  readonly replacement: Replacement;
  /** @default [] (value detection only) */
  readonly paths?: readonly JsonPathRule[];
}

export interface JsonMaskResult {
  readonly text: string;
  readonly counts: MaskCounts;
  /** False when the body was not JSON and was redacted as text instead. */
  readonly json: boolean;
}

type Segment =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'deep' };

interface CompiledPath {
  readonly source: string;
  readonly type: string;
  readonly segments: readonly Segment[];
}

const NAME = /^[A-Za-z0-9_$-]+/;
export const DEFAULT_PATH_TYPE = 'json_path';

function invalidPath(path: string, why: string): GatehouseError {
  return new GatehouseError('GH_ERR_CONFIG_INVALID', `masking JSON path ${JSON.stringify(path)} is invalid: ${why}`, {
    details: { path },
  });
}

/** Parses the small path syntax once, at start-up; throws GH_ERR_CONFIG_INVALID. */
export function compileJsonPath(path: string): Segment[] {
  if (!path.startsWith('$')) throw invalidPath(path, 'it must start with $');
  const segments: Segment[] = [];
  let rest = path.slice(1);
  while (rest.length > 0) {
    if (rest.startsWith('..')) {
      segments.push({ kind: 'deep' });
      rest = rest.slice(2);
      if (rest.startsWith('*')) {
        segments.push({ kind: 'any' });
        rest = rest.slice(1);
        continue;
      }
      if (rest.startsWith('[')) continue;
      const m = NAME.exec(rest);
      if (!m) throw invalidPath(path, 'a name must follow ..');
      segments.push({ kind: 'key', key: m[0] });
      rest = rest.slice(m[0].length);
    } else if (rest.startsWith('.')) {
      rest = rest.slice(1);
      if (rest.startsWith('*')) {
        segments.push({ kind: 'any' });
        rest = rest.slice(1);
        continue;
      }
      const m = NAME.exec(rest);
      if (!m) throw invalidPath(path, 'a name must follow .');
      segments.push({ kind: 'key', key: m[0] });
      rest = rest.slice(m[0].length);
    } else if (rest.startsWith('[')) {
      const m = /^\[(?:(\*)|(\d+)|'([^']*)'|"([^"]*)")\]/.exec(rest);
      if (!m) throw invalidPath(path, 'brackets hold *, an index or a quoted name');
      if (m[1] !== undefined) segments.push({ kind: 'any' });
      else if (m[2] !== undefined) segments.push({ kind: 'index', index: Number(m[2]) });
      else segments.push({ kind: 'key', key: (m[3] ?? m[4]) as string });
      rest = rest.slice(m[0].length);
    } else {
      throw invalidPath(path, `unexpected ${JSON.stringify(rest[0])}`);
    }
  }
  if (segments.length > 0 && segments[segments.length - 1]?.kind === 'deep') throw invalidPath(path, 'it ends with ..');
  return segments;
}

function matches(segments: readonly Segment[], i: number, path: readonly (string | number)[], j: number): boolean {
  if (i === segments.length) return j === path.length;
  const s = segments[i] as Segment;
  if (s.kind === 'deep') {
    for (let k = j; k <= path.length; k++) if (matches(segments, i + 1, path, k)) return true;
    return false;
  }
  if (j === path.length) return false;
  const p = path[j];
  const ok = s.kind === 'any' || (s.kind === 'key' ? p === s.key : p === s.index);
  return ok && matches(segments, i + 1, path, j + 1);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Masks JSON by path and by value. Paths are compiled here, once; the returned function is
 * called per body. Keys are scanned too (an email can be a key). Non-JSON falls back to text
 * redaction. Throws GH_ERR_MASKING_FAILED if masking cannot be done.
 *
 * Without paths the body's layout is kept (only masked values change); with paths the result is
 * re-serialized compactly.
 */
export function createJsonMasker(options: JsonMaskerOptions): (body: string) => JsonMaskResult {
  const { detectors, replacement } = options;
  const paths: CompiledPath[] = (options.paths ?? []).map((rule) => {
    const source = typeof rule === 'string' ? rule : rule.path;
    const type = typeof rule === 'string' ? DEFAULT_PATH_TYPE : (rule.type ?? DEFAULT_PATH_TYPE);
    return { source, type, segments: compileJsonPath(source) };
  });

  function pathType(path: readonly (string | number)[]): string | undefined {
    for (const p of paths) if (matches(p.segments, 0, path, 0)) return p.type;
    return undefined;
  }

  function maskString(value: string, counts: MaskCounts): string {
    // A string holding JSON (tool-call `arguments`) is masked as JSON, as on the by-value route:
    // as text its escapes (`\u0040`, `\"`) would hide values from the detectors.
    if (looksLikeJson(value)) {
      const inner = maskJsonText(value, detectors, replacement, 1);
      if (inner.json) {
        const plain = redactText(value, detectors, replacement);
        // Taken only if it hides at least what the text scan hides.
        if (Object.values(plain.counts).reduce((a, b) => a + b, 0) <= Object.values(inner.counts).reduce((a, b) => a + b, 0)) {
          addCounts(counts, inner.counts);
          return inner.text;
        }
        addCounts(counts, plain.counts);
        return plain.text;
      }
    }
    const r = redactText(value, detectors, replacement);
    addCounts(counts, r.counts);
    return r.text;
  }

  function maskWhole(value: Json, type: string, counts: MaskCounts): Json {
    if (value === null) return null;
    if (Array.isArray(value)) return value.map((v) => maskWhole(v, type, counts));
    if (typeof value === 'object') {
      const out: { [key: string]: Json } = Object.create(null);
      for (const [k, v] of Object.entries(value)) out[maskString(k, counts)] = maskWhole(v, type, counts);
      return out;
    }
    counts[type] = (counts[type] ?? 0) + 1;
    return replacement(String(value), type);
  }

  function walk(value: Json, path: (string | number)[], counts: MaskCounts): Json {
    if (paths.length > 0) {
      const type = pathType(path);
      if (type !== undefined) return maskWhole(value, type, counts);
    }
    if (typeof value === 'string') return maskString(value, counts);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      const out: Json[] = new Array(value.length);
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        out[i] = walk(value[i] as Json, path, counts);
        path.pop();
      }
      return out;
    }
    // A null prototype so a `__proto__` key stays an ordinary key.
    const out: { [key: string]: Json } = Object.create(null);
    for (const [k, v] of Object.entries(value)) {
      path.push(k);
      const key = maskString(k, counts);
      out[key] = typeof v === 'string' && key === k && (paths.length === 0 || pathType(path) === undefined) ? maskMember(k, v, counts) : walk(v, path, counts);
      path.pop();
    }
    return out;
  }

  /**
   * A string member masked with its key as context, as the by-value route sees it: alone, the
   * value of `"password": "…"` or `"api_key": "…"` is just a string and no rule would take it.
   * (Called only when the key itself masks to nothing, so every count is the value's.)
   */
  function maskMember(key: string, value: string, counts: MaskCounts): string {
    // Only keys that can end a rule's keyword (password, passwd, pwd, …secret, …key, …token,
    // passphrase: the generic, AWS and service-account rules) give context; any other member
    // is masked alone, as cheaply as before.
    if (!CONTEXT_KEY.test(key)) return maskString(value, counts);
    const r = maskJsonText(JSON.stringify({ [key]: value }), detectors, replacement, 1);
    if (!r.json) return maskString(value, counts);
    addCounts(counts, r.counts);
    return (JSON.parse(r.text) as Record<string, string>)[key]!;
  }

  return (body: string): JsonMaskResult => {
    // By value only: one detection pass over the raw text, then string-by-string fix-ups. Paths
    // need the parsed tree, so they take the slower parse-and-walk route below.
    if (paths.length === 0) return maskJsonText(body, detectors, replacement);
    let parsed: Json;
    try {
      parsed = JSON.parse(body) as Json;
    } catch {
      const r = redactText(body, detectors, replacement);
      return { text: r.text, counts: r.counts, json: false };
    }
    const counts: MaskCounts = {};
    let masked: Json;
    try {
      masked = walk(parsed, [], counts);
    } catch (e) {
      if (e instanceof GatehouseError) throw e;
      throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking JSON failed');
    }
    return { text: JSON.stringify(masked), counts, json: true };
  };
}

/** Keys whose value a built-in rule judges by the key (the last letters of every such keyword). */
const CONTEXT_KEY = /(?:ord|swd|pwd|ret|key|ken|ase)$/i;

/** One-off convenience; prefer createJsonMasker so paths are compiled once. */
export function maskJson(body: string, options: JsonMaskerOptions): JsonMaskResult {
  return createJsonMasker(options)(body);
}

// ---- by value, on the raw text ----------------------------------------------------------------

/** Characters of JSON numbers. */
const NUMBER = new Uint8Array(128);
for (const c of '0123456789+-.eE') NUMBER[c.charCodeAt(0)] = 1;

class NotJson extends Error {}

/** Joins decoded strings for one scan: quotes and line breaks end every built-in rule's match. */
const SEPARATOR = '\n"\u0000"\n';

/** Escapes a replacement for the inside of a JSON string (a custom mask text may hold `"` or `\`). */
function inString(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.slice(1, quoted.length - 1);
}

/**
 * Offset in the decoded string of raw offset `at` inside the string content starting at `from`.
 * An offset strictly inside an escape maps to the character after it (`roundUp`) or to the
 * escaped character itself.
 */
function decodedOffset(body: string, from: number, at: number, roundUp: boolean): number {
  let raw = from;
  let decoded = 0;
  while (raw < at) {
    if (body.charCodeAt(raw) !== 92) {
      raw++;
      decoded++;
      continue;
    }
    const width = body[raw + 1] === 'u' ? 6 : 2;
    // A raw offset inside an escape belongs to the character it encodes.
    if (raw + width > at) return roundUp ? decoded + 1 : decoded;
    raw += width;
    decoded++;
  }
  return decoded;
}

/**
 * Masks a JSON body without parsing it into objects: detectors run once over the whole raw text
 * (so context such as `"password": "…"` counts), then each string is patched in place. A string
 * with escapes is decoded and scanned again, so `\u0040` or `\n` cannot hide a value. A detection
 * in a number replaces the number with a string. Anything that is not plain JSON structure falls
 * back to text redaction of the whole body.
 */
function maskJsonText(body: string, detectors: readonly Detector[], replacement: Replacement, nesting = 0): JsonMaskResult {
  const spans = resolveOverlaps(findDetections(body, detectors));
  try {
    return { ...patchJson(body, spans, detectors, replacement, nesting), json: true };
  } catch (e) {
    if (!(e instanceof NotJson)) throw e;
    const counts: MaskCounts = {};
    const text = spans.length === 0 ? body : applySpans(body, 0, body.length, spans, replacement, counts);
    return { text, counts, json: false };
  }
}

interface Edit {
  readonly from: number;
  readonly to: number;
  text: string | null;
}

interface EscapedString {
  readonly decoded: string;
  readonly found: Detection[];
  readonly edit: Edit;
}

/**
 * JSON in a JSON string is masked as JSON down to this depth (deeper, as text). Each level doubles
 * the backslashes before a quote, so real documents stop long before; at two levels, a value
 * written with a `\u0041`-style escape three levels down stayed in clear (issue 15).
 */
const MAX_JSON_NESTING = 8;

/** Whether `text` holds `value` as it is or as the inside of a JSON string (escaped). */
function holds(text: string, value: string): boolean {
  if (text.includes(value)) return true;
  const escaped = inString(value);
  return escaped !== value && text.includes(escaped);
}

/** Whether a decoded string could be a JSON object or array: `{…}` or `[…]` around it (the masker then finds out). */
function looksLikeJson(text: string): boolean {
  let a = 0;
  while (a < text.length && text.charCodeAt(a) <= 32) a++;
  let b = text.length - 1;
  while (b > a && text.charCodeAt(b) <= 32) b--;
  const first = text.charCodeAt(a);
  const last = text.charCodeAt(b);
  return (first === 123 && last === 125) || (first === 91 && last === 93);
}

/**
 * Decoded strings are scanned in batches of about this many characters: one findDetections call
 * per batch, not per string, and a batch's strings die young (holding every decoded string of a
 * large body until the end had the garbage collector copy them all, twice).
 */
const ESCAPED_BATCH = 64 * 1024;

/**
 * Scans decoded strings together, joined by a separator no rule's match can cross (a match that
 * did is cut at the join), and sets each string's edit when something was found in it.
 */
function scanEscaped(escaped: readonly EscapedString[], detectors: readonly Detector[], replacement: Replacement, counts: MaskCounts): void {
  const joined: string[] = [];
  const starts: number[] = [];
  let at = 0;
  for (const e of escaped) {
    starts.push(at);
    joined.push(e.decoded);
    at += e.decoded.length + SEPARATOR.length;
  }
  const all = findDetections(joined.join(SEPARATOR), detectors);
  all.sort((a, b) => a.start - b.start);
  let k = 0;
  for (let n = 0; n < escaped.length; n++) {
    const e = escaped[n]!;
    const from = starts[n]!;
    const to = from + e.decoded.length;
    while (k < all.length && all[k]!.end <= from) k++;
    for (let m = k; m < all.length && all[m]!.start < to; m++) {
      const d = all[m]!;
      e.found.push({ ...d, start: Math.max(d.start, from) - from, end: Math.min(d.end, to) - from });
    }
    if (e.found.length > 0) {
      e.edit.text = JSON.stringify(applySpans(e.decoded, 0, e.decoded.length, resolveOverlaps(e.found), replacement, counts));
    }
  }
}

function replaceOrFail(replacement: Replacement, value: string, type: string): string {
  try {
    return replacement(value, type);
  } catch {
    throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking replacement failed', { details: { type } });
  }
}

/** Whether `c` may be part of a JSON number. */
function isNumberChar(c: number): boolean {
  return c < 128 && NUMBER[c] === 1;
}

/**
 * Masks the detections that fall between strings (`spans[si…]` starting before `to`): each
 * must lie in a number, and the whole number becomes a string. Returns the next span index.
 */
function numberSpans(
  body: string,
  from: number,
  to: number,
  spans: readonly Detection[],
  si: number,
  edits: Edit[],
  counts: MaskCounts,
  replacement: Replacement,
): number {
  while (si < spans.length && spans[si]!.start < to) {
    const s = spans[si++]!;
    if (s.end > to) throw new NotJson();
    let a = s.start;
    let b = s.end;
    while (a > from && isNumberChar(body.charCodeAt(a - 1))) a--;
    while (b < to && isNumberChar(body.charCodeAt(b))) b++;
    for (let k = a; k < b; k++) if (!isNumberChar(body.charCodeAt(k))) throw new NotJson();
    edits.push({ from: a, to: b, text: JSON.stringify(replaceOrFail(replacement, body.slice(a, b), s.type)) });
    counts[s.type] = (counts[s.type] ?? 0) + 1;
  }
  return si;
}

/** What a walk over one body carries from string to string. */
interface Patch {
  readonly body: string;
  readonly spans: readonly Detection[];
  readonly detectors: readonly Detector[];
  readonly replacement: Replacement;
  readonly nesting: number;
  readonly counts: MaskCounts;
  /**
   * Replacements in body order; the body is copied only if there is one. An escaped string's
   * text is filled in after the decoded strings are scanned, and stays null if nothing was found.
   */
  readonly edits: Edit[];
  readonly escaped: EscapedString[];
  escapedLength: number;
  /** Next raw span, and its start (the body's length when none is left). */
  si: number;
  nextSpan: number;
}

function startPatch(body: string, spans: readonly Detection[], detectors: readonly Detector[], replacement: Replacement, nesting: number): Patch {
  const nextSpan = spans.length > 0 ? spans[0]!.start : body.length;
  return { body, spans, detectors, replacement, nesting, counts: {}, edits: [], escaped: [], escapedLength: 0, si: 0, nextSpan };
}

/** The raw detections in the structure between `from` and `to` (numbers), if any start there. */
function atGap(p: Patch, from: number, to: number): void {
  if (p.nextSpan >= to) return;
  p.si = numberSpans(p.body, from, to, p.spans, p.si, p.edits, p.counts, p.replacement);
  p.nextSpan = p.si < p.spans.length ? p.spans[p.si]!.start : p.body.length;
}

/**
 * A string from its opening quote `q` to its closing quote `j`, called only when it holds a
 * raw detection or an escape (`hasEscape`, or found by the caller's own search).
 */
function atString(p: Patch, q: number, j: number, hasEscape: boolean): void {
  const { body, spans, replacement, counts, edits } = p;
  if (!hasEscape) {
    // No escapes: the raw text is the value, and the raw detections apply as they are.
    while (p.si < spans.length && spans[p.si]!.start < j) {
      const s = spans[p.si++]!;
      if (s.start <= q || s.end > j) throw new NotJson();
      edits.push({ from: s.start, to: s.end, text: inString(replaceOrFail(replacement, body.slice(s.start, s.end), s.type)) });
      counts[s.type] = (counts[s.type] ?? 0) + 1;
    }
    p.nextSpan = p.si < spans.length ? spans[p.si]!.start : body.length;
    return;
  }
  let decoded: string;
  try {
    decoded = JSON.parse(body.slice(q, j + 1)) as string;
  } catch {
    throw new NotJson();
  }
  const found: Detection[] = [];
  while (p.si < spans.length && spans[p.si]!.start < j) {
    const s = spans[p.si++]!;
    if (s.start <= q || s.end > j) throw new NotJson();
    // A raw match that starts inside an escape began on the escape's own letters (the `n` of
    // `\n` before `alice@…`), which are not the decoded text: it starts after the escape.
    // One that ends inside an escape keeps that character (the conservative side).
    const start = decodedOffset(body, q + 1, s.start, true);
    const end = decodedOffset(body, q + 1, s.end, true);
    if (start < end) found.push({ ...s, start, end });
  }
  p.nextSpan = p.si < spans.length ? spans[p.si]!.start : body.length;
  if (p.nesting < MAX_JSON_NESTING && looksLikeJson(decoded)) {
    // JSON held in a string (OpenAI's tool-call `arguments`): masked as JSON itself, so its
    // own escapes are decoded too. Taken only if it also hides everything the raw scan found
    // in the string (a match that needed context outside it, such as `"secret": "{…}"`,
    // might not be found inside); otherwise, or when it is not JSON after all, the string is
    // scanned as text below.
    const inner = maskJsonText(decoded, p.detectors, replacement, p.nesting + 1);
    // "Hides" means in any spelling: a value with a quote is `\"` in inner.text, and a plain
    // includes() would call it gone while it went out in clear (and uncounted). And a raw match
    // that spans a quote of the inner document (`"password": "{\"note\": …}"`: the whole value
    // is the secret) cannot be reproduced inside it: masking only the inner document's own finds
    // would leave the rest of that value in clear while the record counts it masked.
    if (inner.json && found.every((f) => !decoded.slice(f.start, f.end).includes('"') && !holds(inner.text, decoded.slice(f.start, f.end)))) {
      if (inner.text !== decoded) {
        edits.push({ from: q, to: j + 1, text: JSON.stringify(inner.text) });
        addCounts(counts, inner.counts);
      }
      return;
    }
  }
  const edit: Edit = { from: q, to: j + 1, text: null };
  edits.push(edit);
  p.escaped.push({ decoded, found, edit });
  p.escapedLength += decoded.length;
  if (p.escapedLength >= ESCAPED_BATCH) {
    scanEscaped(p.escaped, p.detectors, replacement, counts);
    p.escaped.length = 0;
    p.escapedLength = 0;
  }
}

/** After the walk: the last escaped strings, then the body with every edit applied. */
function finishPatch(p: Patch): { text: string; counts: MaskCounts } {
  const { body, counts } = p;
  if (p.escaped.length > 0) scanEscaped(p.escaped, p.detectors, p.replacement, counts);
  const parts: string[] = [];
  let out = 0; // body[0, out) is already in parts
  for (const e of p.edits) {
    if (e.text === null) continue;
    parts.push(body.slice(out, e.from), e.text);
    out = e.to;
  }
  if (out === 0) return { text: body, counts };
  parts.push(body.slice(out));
  return { text: parts.join(''), counts };
}

/**
 * The structure walk runs in WebAssembly for the outermost body of this length or more (JSON
 * held in a string is walked in JavaScript: one walk at a time per module instance).
 */
const WASM_WALK_MIN_LENGTH = 512;
let wasmWalk: JsonScanner | undefined = jsonScanner;
let wasmWalkMinLength = WASM_WALK_MIN_LENGTH;

/**
 * Which structure walk runs: WebAssembly for outermost bodies of WASM_WALK_MIN_LENGTH or more
 * (`auto`, the default), for every outermost body, or never. Both give the same result; the
 * tests run each. Returns whether the WebAssembly walk is available.
 */
export function useJsonScan(mode: WasmEngineMode): boolean {
  ({ engine: wasmWalk, minLength: wasmWalkMinLength } = engineFor(mode, jsonScanner, WASM_WALK_MIN_LENGTH));
  return jsonScanner !== undefined;
}

/**
 * Assigns the raw detections to the strings and numbers they fall in, and decodes and rescans
 * strings with escapes. Throws NotJson when the body is not JSON.
 */
function patchJson(
  body: string,
  spans: readonly Detection[],
  detectors: readonly Detector[],
  replacement: Replacement,
  nesting: number,
): { text: string; counts: MaskCounts } {
  const p = startPatch(body, spans, detectors, replacement, nesting);
  if (wasmWalk !== undefined && nesting === 0 && body.length >= wasmWalkMinLength) walkWasm(p, wasmWalk);
  else walkJs(p);
  return finishPatch(p);
}

/** The walk in WebAssembly: only strings with an escape or a detection reach JavaScript. */
function walkWasm(p: Patch, scanner: JsonScanner): void {
  const n = p.body.length;
  const strings = scanner.strings;
  let gap = 0; // where the structure after the last string begins
  scanner.reset();
  for (let from = 0; from < n; from += JSON_SCAN_CHUNK) {
    const count = scanner.walk(p.body, from, Math.min(n, from + JSON_SCAN_CHUNK));
    if (count < 0) throw new NotJson();
    for (let k = 0; k < count; k++) {
      const q = strings[2 * k]!;
      const end = strings[2 * k + 1]!;
      const j = end & 0x7fffffff;
      if (p.nextSpan < q) atGap(p, gap, q);
      if (end < 0 || p.nextSpan < j) atString(p, q, j, end < 0);
      gap = j + 1;
    }
  }
  if (!scanner.finish()) throw new NotJson();
  atGap(p, gap, n);
}

/**
 * The walk in JavaScript: checks the structure between strings character by character (the
 * loop that checks it also finds the next opening quote, so a string costs one indexOf, for its
 * closing quote).
 */
function walkJs(p: Patch): void {
  const body = p.body;
  const n = body.length;
  let depth = 0;
  let values = 0;
  let nextEscape = body.indexOf('\\');
  let i = 0;
  for (;;) {
    // Structure up to the next string. Most gaps are one `:` or `,` between two strings.
    let q = i;
    const g = body.charCodeAt(q);
    if ((g === 58 || g === 44) && body.charCodeAt(q + 1) === 34) q++;
    for (; q < n; q++) {
      const c = body.charCodeAt(q);
      if (c === 34) break;
      if (c === 32 || c === 10 || c === 13 || c === 9 || c === 44 || c === 58) continue;
      values++;
      if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        if (--depth < 0) throw new NotJson();
      } else if (c === 116 || c === 102 || c === 110) {
        const word = c === 116 ? 'true' : c === 102 ? 'false' : 'null';
        if (!body.startsWith(word, q)) throw new NotJson();
        q += word.length - 1;
      } else if (!isNumberChar(c)) throw new NotJson();
    }
    atGap(p, i, q);
    if (q >= n) break;
    let j = body.indexOf('"', q + 1);
    for (;;) {
      if (j < 0) throw new NotJson();
      if (body.charCodeAt(j - 1) !== 92) break;
      let k = j - 2;
      while (body.charCodeAt(k) === 92) k--;
      if ((j - 1 - k) % 2 === 0) break; // an even run of backslashes: the quote is not escaped
      j = body.indexOf('"', j + 1);
    }
    values++;
    if (nextEscape >= 0 && nextEscape < q) nextEscape = body.indexOf('\\', q);
    const hasEscape = nextEscape >= 0 && nextEscape < j;
    // The common case, no detection and no escape in this string, costs nothing more.
    if (hasEscape || p.nextSpan < j) atString(p, q, j, hasEscape);
    i = j + 1;
  }
  if (depth !== 0 || values === 0) throw new NotJson();
}
