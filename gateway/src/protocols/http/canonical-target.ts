import { GatehouseError } from '../../errors';

/**
 * The canonical form of an HTTP request target: the one form that policy judges, that is
 * recorded, and that the upstream receives (docs/http.md, "The request target"). A target that
 * cannot be put in one unambiguous form is refused (400) rather than guessed at, because the
 * upstream (nginx, a framework) would guess too, and perhaps differently.
 *
 * Path (origin-form, `/`-rooted; the query is everything after the first `?`):
 * - percent-encoded unreserved characters (ALPHA DIGIT `-` `.` `_` `~`) are decoded, every other
 *   escape is kept with upper-case hex (`%c3%a9` → `%C3%A9`); printable ASCII that RFC 3986 does
 *   not allow raw in a path (`"` `<` `>` `^` `` ` `` `{` `|` `}` `[` `]`) is percent-encoded;
 * - repeated slashes are collapsed (`//` → `/`), as nginx's `merge_slashes` does;
 * - dot segments (`.` `..`, also encoded as `%2e`) are removed as RFC 3986 §5.2.4 says; a `..`
 *   that would climb above the root is refused;
 * - letters keep their case (paths are case-sensitive; only the hex of escapes is normalized).
 * Refused as ambiguous (GH_ERR_TARGET_AMBIGUOUS), because upstreams disagree on what they mean:
 * an encoded `/` (`%2F`), a `\` raw or encoded (`%5C`; some servers read it as `/`), `;` raw or
 * encoded (`%3B`; Tomcat-like servers strip `;…` path parameters, so `/admin;x` and `/..;/` reach
 * what policy did not see), and an encoded `%` followed by two hex digits (`%252e`: a server that
 * decodes twice sees `.`).
 * Refused as invalid (GH_ERR_TARGET_INVALID): a fragment (`#`), an escape that is not `%` and two
 * hex digits, an encoded NUL or other control character, escapes that are not valid UTF-8 (incl.
 * overlong forms such as `%C0%AE`), raw characters outside printable ASCII.
 *
 * Query (`context.query` for policy): `&`-separated `name=value` pairs, decoded as HTML forms are
 * (`+` is a space, escapes are UTF-8, invalid escapes or UTF-8 are refused), empty pairs dropped,
 * and re-encoded in one way (unreserved characters raw, everything else `%XX`, a space as `%20`)
 * in the original order. `params` maps each name, lower-cased, to its value: a name repeated with
 * different values (also differing only in case) is refused as ambiguous, since frameworks take the
 * first, the last or all of them.
 */
export interface CanonicalTarget {
  /** The canonical path, `/`-rooted, no query. */
  readonly path: string;
  /** The canonical query without the `?`; '' when there is none. */
  readonly query: string;
  /** Query parameters, lower-cased name → decoded value (no prototype). */
  readonly params: Readonly<Record<string, string>>;
  /**
   * The fewest path segments left on the output after a `..` removed one (-1 when no `..` did):
   * a `..` that climbed into a connection's route prefix shows here (the router refuses it).
   */
  readonly lowestDepth: number;
}

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/*
 * Raw path characters: KEEP (allowed raw and canonical as they are), ENCODE (printable, not
 * allowed raw; percent-encoded), AMBIGUOUS (`\`, `;`), INVALID (everything else: controls,
 * space, `#`, non-ASCII). `%`, `/` and `.` are handled by the scanner.
 */
const KEEP = 1;
const ENCODE = 2;
const AMBIGUOUS = 3;
const PATH_CLASS = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@") PATH_CLASS[c.charCodeAt(0)] = KEEP;
for (const c of '"<>^`{|}[]') PATH_CLASS[c.charCodeAt(0)] = ENCODE;
PATH_CLASS[0x5c] = AMBIGUOUS; // \
PATH_CLASS[0x3b] = AMBIGUOUS; // ;

/** Unreserved characters (RFC 3986 §2.3): decoded when percent-encoded. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;

const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_TARGET_INVALID', message);
}

function ambiguous(message: string): GatehouseError {
  return new GatehouseError('GH_ERR_TARGET_AMBIGUOUS', message);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** The byte of the escape at `i` (which holds `%`), or throws. */
function escapeAt(s: string, i: number): number {
  const hi = i + 1 < s.length ? hexValue(s.charCodeAt(i + 1)) : -1;
  const lo = i + 2 < s.length ? hexValue(s.charCodeAt(i + 2)) : -1;
  if (hi < 0 || lo < 0) throw invalid('the request target has a "%" that is not followed by two hex digits');
  return hi * 16 + lo;
}

/**
 * True when the path is already canonical: printable ASCII that is allowed raw, no `%`, no `;`
 * or `\`, no empty segment (`//`) and no `.` or `..` segment. Most API paths are; they cost one scan.
 */
function isCanonicalPath(path: string): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== 0x2f) return false;
  let segStart = 1;
  for (let i = 1; i <= n; i++) {
    const c = i === n ? 0x2f : path.charCodeAt(i);
    if (c === 0x2f) {
      const len = i - segStart;
      if (len === 0 && i !== n) return false; // `//` (a trailing `/` is fine)
      if (len === 1 && path.charCodeAt(segStart) === 0x2e) return false;
      if (len === 2 && path.charCodeAt(segStart) === 0x2e && path.charCodeAt(segStart + 1) === 0x2e) return false;
      segStart = i + 1;
      continue;
    }
    if (c >= 128 || PATH_CLASS[c] !== KEEP) return false;
  }
  return true;
}

/** One raw segment in canonical form (escapes normalized, unreserved decoded), or throws. */
function canonicalSegment(seg: string): string {
  let out = '';
  const n = seg.length;
  for (let i = 0; i < n; ) {
    const c = seg.charCodeAt(i);
    if (c === 0x25) {
      const b = escapeAt(seg, i);
      if (b < 0x80) {
        if (UNRESERVED[b] === 1) out += String.fromCharCode(b);
        else if (b === 0x2f) throw ambiguous('the request path has an encoded "/" (%2F), which upstreams read differently');
        else if (b === 0x5c) throw ambiguous('the request path has an encoded "\\" (%5C), which some upstreams read as "/"');
        else if (b === 0x3b) throw ambiguous('the request path has an encoded ";" (%3B): path parameters are refused');
        else if (b < 0x20 || b === 0x7f) throw invalid('the request path has an encoded NUL or control character');
        else if (b === 0x25 && i + 4 < n && hexValue(seg.charCodeAt(i + 3)) >= 0 && hexValue(seg.charCodeAt(i + 4)) >= 0) {
          throw ambiguous('the request path is percent-encoded twice (%25 followed by hex digits)');
        } else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
        i += 3;
        continue;
      }
      // A run of escaped bytes >= 0x80 must be valid UTF-8 (no overlong forms, no surrogates).
      const bytes: number[] = [];
      let j = i;
      while (j < n && seg.charCodeAt(j) === 0x25) {
        const x = escapeAt(seg, j);
        if (x < 0x80) break;
        bytes.push(x);
        j += 3;
      }
      try {
        utf8.decode(Uint8Array.from(bytes));
      } catch {
        throw invalid('the request path has percent-encoded bytes that are not valid UTF-8');
      }
      for (const x of bytes) out += `%${HEX[x >> 4]}${HEX[x & 15]}`;
      i = j;
      continue;
    }
    const cls = c < 128 ? PATH_CLASS[c] : 0;
    if (cls === KEEP) out += seg[i];
    else if (cls === ENCODE) out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
    else if (cls === AMBIGUOUS) {
      throw ambiguous(c === 0x3b ? 'the request path has a ";": path parameters are refused (upstreams such as Tomcat strip them)' : 'the request path has a "\\", which some upstreams read as "/"');
    } else if (c === 0x23) throw invalid('the request target has a fragment ("#"), which is never sent in HTTP');
    else throw invalid('the request path has a character that must be percent-encoded (a control character, a space or non-ASCII)');
    i++;
  }
  return out;
}

interface CanonicalPath {
  readonly path: string;
  readonly lowestDepth: number;
}

function canonicalPath(raw: string): CanonicalPath {
  if (isCanonicalPath(raw)) return { path: raw, lowestDepth: -1 };
  if (raw.length === 0) return { path: '/', lowestDepth: -1 };
  if (raw.charCodeAt(0) !== 0x2f) throw invalid('the request target must start with "/" (origin-form)');
  const raws = raw.split('/');
  const out: string[] = [];
  let lowest = -1;
  let trailing = false;
  // raws[0] is the empty string before the leading `/`.
  for (let k = 1; k < raws.length; k++) {
    const last = k === raws.length - 1;
    const seg = canonicalSegment(raws[k]!);
    trailing = false;
    if (seg === '') {
      trailing = last; // `//` collapses; a final `/` stays
      continue;
    }
    if (seg === '.') {
      trailing = last;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) throw ambiguous('the request path climbs above the root with ".."');
      out.pop();
      if (lowest === -1 || out.length < lowest) lowest = out.length;
      trailing = last;
      continue;
    }
    out.push(seg);
  }
  let path = '/' + out.join('/');
  if (trailing && out.length > 0) path += '/';
  return { path, lowestDepth: lowest };
}

/** Decodes one query name or value the way HTML forms are (`+` is a space), or throws. */
function decodeQueryPart(s: string): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 || c === 0x2b) plain = false;
    else if (c === 0x23) throw invalid('the request target has a fragment ("#"), which is never sent in HTTP');
    else if (c < 0x21 || c > 0x7e) throw invalid('the request query has a character that must be percent-encoded');
  }
  if (plain) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(escapeAt(s, i));
      i += 3;
    } else {
      bytes.push(c === 0x2b ? 0x20 : c);
      i++;
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw invalid('the request query has percent-encoded bytes that are not valid UTF-8');
  }
}

/** The one way a query name or value is encoded upstream: unreserved raw, all else `%XX`. */
function encodeQueryPart(s: string): string {
  let simple = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || UNRESERVED[c] !== 1) {
      simple = false;
      break;
    }
  }
  if (simple) return s;
  // encodeURIComponent leaves `!'()*` raw: encode them too, so one form remains.
  return encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Cedar's JSON reads an object with one of these keys as an entity or extension value. */
const RESERVED_NAMES = new Set(['__entity', '__extn', '__expr']);

function canonicalQuery(raw: string): { query: string; params: Record<string, string> } {
  const params = Object.create(null) as Record<string, string>;
  const parts: string[] = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryPart(eq === -1 ? part : part.slice(0, eq));
    const value = eq === -1 ? '' : decodeQueryPart(part.slice(eq + 1));
    const key = name.toLowerCase();
    if (RESERVED_NAMES.has(key)) throw invalid(`the request query has a parameter named "${key}", which is reserved`);
    const prior = params[key];
    if (prior !== undefined && prior !== value) {
      throw ambiguous(`the query parameter "${name.length > 64 ? name.slice(0, 64) + '…' : name}" is repeated with different values, which upstreams read differently`);
    }
    params[key] = value;
    parts.push(eq === -1 ? encodeQueryPart(name) : `${encodeQueryPart(name)}=${encodeQueryPart(value)}`);
  }
  return { query: parts.join('&'), params };
}

/**
 * The canonical form of an origin-form request target (`/path?query`), or throws a
 * GatehouseError (GH_ERR_TARGET_INVALID or GH_ERR_TARGET_AMBIGUOUS, status 400).
 */
export function canonicalTarget(target: string): CanonicalTarget {
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const { path, lowestDepth } = canonicalPath(rawPath);
  if (q === -1 || q === target.length - 1) return { path, query: '', params: EMPTY_PARAMS, lowestDepth };
  const { query, params } = canonicalQuery(target.slice(q + 1));
  return { path, query, params, lowestDepth };
}

/**
 * Reduces an absolute-form target (`http://host/path`, RFC 9112 §3.2.2) to origin-form when its
 * authority equals the request's Host header, by which it was routed (case-insensitive, port
 * included); any other absolute-form, an authority with user information, and asterisk- or
 * authority-form are refused (GH_ERR_TARGET_ABSOLUTE_FORM / GH_ERR_TARGET_INVALID). Origin-form
 * targets are returned as they are.
 */
export function originForm(target: string, hostHeader: string | undefined): string {
  if (target.charCodeAt(0) === 0x2f) return target;
  const m = /^(https?):\/\/([^/?#]*)/i.exec(target);
  if (m === null) throw invalid('the request target must be a path ("/…"); asterisk-form and authority-form are not forwarded');
  const authority = m[2]!;
  if (authority.includes('@')) throw new GatehouseError('GH_ERR_TARGET_ABSOLUTE_FORM', 'the absolute-form request target carries user information, which is refused');
  if (hostHeader === undefined || authority.toLowerCase() !== hostHeader.toLowerCase()) {
    throw new GatehouseError('GH_ERR_TARGET_ABSOLUTE_FORM', 'the absolute-form request target names another host than the Host header; send origin-form ("/path")');
  }
  const rest = target.slice(m[0].length);
  return rest === '' ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest;
}
