/**
 * A literal-insensitive key for a SQL text, so that `... WHERE aid = 123` and `... WHERE aid = 456`
 * share one classification (pgbench and ORMs that inline values would otherwise miss the
 * classifier's cache on every statement and pay for a full parse).
 *
 * The key is the text with each plain numeric and string literal replaced by a marker (`\0n`,
 * `\0s`); everything else (keywords, identifiers, operators, comments, whitespace, parameters,
 * escape/dollar/bit/unicode strings) stays as written, so two texts with one key differ only in
 * those literal values. The classifier reads literal values in exactly two places, and the key is
 * refused (undefined: classify the exact text) wherever they could matter:
 * - equality of two constants (`WHERE 1 = 1` is an unbounded DELETE, `WHERE 1 = 2` is not): a text
 *   in which two normalized literals could be equal values is not normalized, so within every
 *   key all literal values are distinct and no constant comparison can be true;
 * - EXPLAIN options (`EXPLAIN (ANALYZE 0)`): a text naming EXPLAIN is not normalized;
 * - the parameter name of set_config, the schemas of SET search_path and the value of SET
 *   [default_]transaction_read_only: a text naming `set_config`, `search_path`,
 *   `transaction_read_only` or `default_transaction_read_only` (as a plain or a quoted
 *   identifier) is not normalized.
 * A literal kept as written (E'', dollar-quoted, bit strings) could equal a normalized one, so a
 * text mixing both is not normalized either.
 * The lexer follows PostgreSQL's scanner (scan.l, standard_conforming_strings on, as the
 * classifier's parser runs); anything it does not fully understand is refused, never guessed.
 */

/** Longest text worth a key; longer ones are classified (and cached) by their exact text. */
export const NORMALIZE_MAX_TEXT = 16 * 1024;

export interface NormalizedSql {
  /** Literal-insensitive cache key (contains NUL markers, never valid SQL). */
  readonly key: string;
  /**
   * Where the first statement's own text ends (exclusive): the first `;` outside literals and
   * comments, or the text's length. Only set when nothing but whitespace, comments and `;`
   * follows it, i.e. the text holds one statement.
   */
  readonly singleEnd: number | undefined;
}

const enum C {
  Tab = 9,
  Nl = 10,
  Vt = 11,
  Ff = 12,
  Cr = 13,
  Space = 32,
  Dquote = 34,
  Dollar = 36,
  Amp = 38,
  Quote = 39,
  Star = 42,
  Minus = 45,
  Dot = 46,
  Slash = 47,
  D0 = 48,
  D9 = 57,
  Semi = 59,
  UpperE = 69,
  Lowere = 101,
}

function isSpace(c: number): boolean {
  return c === C.Space || c === C.Tab || c === C.Nl || c === C.Cr || c === C.Ff || c === C.Vt;
}

function isDigit(c: number): boolean {
  return c >= C.D0 && c <= C.D9;
}

/** scan.l ident_start: letters, `_`, and any non-ASCII character. */
function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

/** scan.l ident_cont: ident_start, digits and `$`. */
function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === C.Dollar;
}

/** Skips one comment at `i` (`--` or nested `/* *\/`); returns its end, or -1 for an unterminated block comment. */
function skipComment(sql: string, i: number): number {
  if (sql.charCodeAt(i) === C.Minus) {
    const nl = sql.indexOf('\n', i + 2);
    return nl < 0 ? sql.length : nl + 1;
  }
  let depth = 1;
  let j = i + 2;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (c === C.Star && sql.charCodeAt(j + 1) === C.Slash) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else if (c === C.Slash && sql.charCodeAt(j + 1) === C.Star) {
      depth++;
      j += 2;
    } else j++;
  }
  return -1;
}

function commentAt(sql: string, i: number): boolean {
  const c = sql.charCodeAt(i);
  const d = sql.charCodeAt(i + 1);
  return (c === C.Minus && d === C.Minus) || (c === C.Slash && d === C.Star);
}

/** End of a quoted run starting at `i` (the opening quote) where the quote doubles as its escape; -1 when unterminated. */
function skipQuoted(sql: string, i: number, quote: number): number {
  let j = i + 1;
  for (;;) {
    const k = sql.indexOf(quote === C.Quote ? "'" : '"', j);
    if (k < 0) return -1;
    if (sql.charCodeAt(k + 1) === quote) j = k + 2;
    else return k + 1;
  }
}

/** End of an E'' string (backslash escapes) starting at its quote; -1 when unterminated. */
function skipEscapeString(sql: string, i: number): number {
  let j = i + 1;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (c === 92 /* \ */) j += 2;
    else if (c === C.Quote) {
      if (sql.charCodeAt(j + 1) === C.Quote) j += 2;
      else return j + 1;
    } else j++;
  }
  return -1;
}

/** The next position that is not whitespace or a comment; -1 when a comment is unterminated. */
function skipBlank(sql: string, i: number): number {
  let j = i;
  while (j < sql.length) {
    const c = sql.charCodeAt(j);
    if (isSpace(c)) j++;
    else if (commentAt(sql, j)) {
      j = skipComment(sql, j);
      if (j < 0) return -1;
    } else break;
  }
  return j;
}

/**
 * The literal-insensitive key of `sql`, or undefined when the text must be classified as it is
 * (too long, EXPLAIN, two literals that could be equal, anything the lexer does not fully read).
 */
/** Identifiers whose statements have literal values the classifier reads (statement.ts). */
const LITERAL_READERS: ReadonlySet<string> = new Set(['search_path', 'set_config', 'transaction_read_only', 'default_transaction_read_only']);
/** Shortest and longest LITERAL_READERS name (a cheap length test before the lookup). */
const READER_MIN = Math.min(...[...LITERAL_READERS].map((n) => n.length));
const READER_MAX = Math.max(...[...LITERAL_READERS].map((n) => n.length));

export function normalizeSql(sql: string): NormalizedSql | undefined {
  const n = sql.length;
  if (n > NORMALIZE_MAX_TEXT) return undefined;
  let key = '';
  let copied = 0;
  let literals = 0;
  let values: Set<string> | undefined;
  let first: string | undefined;
  let semicolon = -1;
  let raw = 0;
  let i = 0;
  const literal = (start: number, end: number, marker: string, value: string): boolean => {
    // Equal values could make a comparison constant-true: refuse rather than share a key.
    if (literals === 0) first = value;
    else {
      if (values === undefined) {
        values = new Set<string>();
        values.add(first!);
      }
      if (values.has(value)) return false;
      values.add(value);
    }
    literals++;
    key += sql.slice(copied, start) + marker;
    copied = end;
    return true;
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (semicolon >= 0) {
      // After the first statement only blanks and `;` may follow, else this is a multi-statement text.
      if (c === C.Semi || isSpace(c)) {
        i++;
        continue;
      }
      if (commentAt(sql, i)) {
        i = skipComment(sql, i);
        if (i < 0) return undefined;
        continue;
      }
      return undefined;
    }
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (commentAt(sql, i)) {
      i = skipComment(sql, i);
      if (i < 0) return undefined;
      continue;
    }
    if (c === C.Semi) {
      semicolon = i;
      i++;
      continue;
    }
    if (c === C.Quote) {
      const end = skipQuoted(sql, i, C.Quote);
      if (end < 0) return undefined;
      // 'a'<newline>'b' is one literal in PostgreSQL: refuse instead of modelling it.
      const next = skipBlank(sql, end);
      if (next < 0 || sql.charCodeAt(next) === C.Quote) return undefined;
      const body = sql.slice(i + 1, end - 1);
      if (!literal(i, end, '\0s', body.includes("''") ? body.replace(/''/g, "'") : body)) return undefined;
      i = end;
      continue;
    }
    if (c === C.Dquote) {
      const end = skipQuoted(sql, i, C.Dquote);
      if (end < 0) return undefined;
      if (end - i >= READER_MIN + 2 && end - i <= READER_MAX + 2 && LITERAL_READERS.has(sql.slice(i + 1, end - 1).toLowerCase())) return undefined;
      i = end;
      continue;
    }
    if (isDigit(c) || (c === C.Dot && isDigit(sql.charCodeAt(i + 1)))) {
      // A number directly after an identifier character or `$` is part of that token (t1, $1).
      let j = i;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      if (sql.charCodeAt(j) === C.Dot) {
        j++;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
      }
      const e = sql.charCodeAt(j);
      if (e === C.Lowere || e === C.UpperE) {
        let k = j + 1;
        const s = sql.charCodeAt(k);
        if (s === 43 /* + */ || s === C.Minus) k++;
        if (!isDigit(sql.charCodeAt(k))) return undefined;
        while (k < n && isDigit(sql.charCodeAt(k))) k++;
        j = k;
      }
      const after = sql.charCodeAt(j);
      // 0x1F, 1_000, 123abc, 1..2: forms whose meaning differs between PostgreSQL versions.
      if (j < n && (isIdentCont(after) || after === C.Dot)) return undefined;
      const text = sql.slice(i, j);
      if (!literal(i, j, '\0n', String(Number(text)))) return undefined;
      i = j;
      continue;
    }
    if (c === C.Dollar) {
      const d = sql.charCodeAt(i + 1);
      if (isDigit(d)) {
        // A parameter ($1): kept as written.
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        if (j < n && isIdentCont(sql.charCodeAt(j))) return undefined;
        i = j;
        continue;
      }
      // A dollar-quoted string ($$...$$, $tag$...$tag$): kept as written (function bodies).
      let j = i + 1;
      while (j < n && sql.charCodeAt(j) !== C.Dollar && isIdentCont(sql.charCodeAt(j))) j++;
      if (sql.charCodeAt(j) !== C.Dollar) return undefined;
      const tag = sql.slice(i, j + 1);
      const close = sql.indexOf(tag, j + 1);
      if (close < 0) return undefined;
      raw++;
      i = close + tag.length;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      const next = sql.charCodeAt(j);
      if (j - i === 1 && next === C.Quote) {
        const p = c | 0x20;
        // E'..' (escapes), B'..' / X'..' (bit strings), N'..' (national): kept as written.
        if (p === 101 /* e */) {
          const end = skipEscapeString(sql, j);
          if (end < 0) return undefined;
          raw++;
          i = end;
          continue;
        }
        if (p === 98 /* b */ || p === 120 /* x */ || p === 110 /* n */) {
          const end = skipQuoted(sql, j, C.Quote);
          if (end < 0) return undefined;
          raw++;
          i = end;
          continue;
        }
      }
      // U&'..' and U&"..": unicode escapes (and UESCAPE): refused.
      if (j - i === 1 && (c | 0x20) === 117 && next === C.Amp) return undefined;
      if (j - i === 7 && sql.slice(i, j).toLowerCase() === 'explain') return undefined;
      if (j - i >= READER_MIN && j - i <= READER_MAX && LITERAL_READERS.has(sql.slice(i, j).toLowerCase())) return undefined;
      i = j;
      continue;
    }
    // Operators and punctuation: copied as they are.
    i++;
  }
  // A literal kept as written could equal a normalized one (E'1' = '1'): refuse the mix.
  if (raw > 0 && literals > 0) return undefined;
  if (literals === 0) return { key: sql, singleEnd: semicolon >= 0 ? semicolon : n };
  key += sql.slice(copied);
  return { key, singleEnd: semicolon >= 0 ? semicolon : n };
}
