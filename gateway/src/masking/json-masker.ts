import { GatehouseError } from '../errors';
import type { Detector } from './detector';
import { addCounts, redactText, type MaskCounts } from './redact';
import type { Replacement } from './replacement';

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
      out[maskString(k, counts)] = walk(v, path, counts);
      path.pop();
    }
    return out;
  }

  return (body: string): JsonMaskResult => {
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

/** One-off convenience; prefer createJsonMasker so paths are compiled once. */
export function maskJson(body: string, options: JsonMaskerOptions): JsonMaskResult {
  return createJsonMasker(options)(body);
}
