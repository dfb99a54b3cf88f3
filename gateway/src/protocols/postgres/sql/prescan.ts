/**
 * Limits checked before a text reaches the parser, by one cheap lexical pass (quotes, dollar
 * quotes, quoted identifiers and comments are skipped as PostgreSQL's scanner reads them).
 *
 * Why: the parser (libpg_query in WebAssembly) overflows its stack on deeply nested input, and a
 * trapped instance must be replaced. Measured on PostgreSQL 15's grammar: 1 000 nested
 * sub-selects or 2 000 chained `COLLATE`s still parse, 2 000 nested sub-selects, 5 000 chained
 * `COLLATE`s or 10 000 chained `+`, `||`, `::`, `IS NULL` or `UNION` do not. Two measures bound
 * what the parse tree's depth can become:
 * - nesting: open `(`, `[` and `CASE` at once (MAX_NESTING);
 * - chain weight: binary operators (and `UNION`/`INTERSECT`/`EXCEPT`, `COLLATE`, `IS`, `NOT`, `AT`)
 *   not yet separated by a `,`, `;`, `AND`/`OR` or a clause keyword, summed over the enclosing
 *   levels, plus CHAIN_PER_LEVEL for each open level (MAX_CHAIN). Left-deep operator chains make
 *   deep trees; AND/OR lists and comma lists are flat.
 * Real statements stay far below both (nesting in the tens, chains in the hundreds); wide ones
 * (long IN lists, bulk VALUES, AND chains of thousands of conditions) are not deep and pass.
 */
export const MAX_NESTING = 256;
export const MAX_CHAIN = 2000;
export const CHAIN_PER_LEVEL = 4;

const RESET_KEYWORDS = new Set(['and', 'or', 'select', 'from', 'where', 'then', 'when', 'else', 'set', 'values', 'on', 'returning', 'group', 'order', 'having', 'limit', 'offset', 'by', 'as', 'into', 'using', 'window', 'do']);
const SETOP_KEYWORDS = new Set(['union', 'intersect', 'except']);
const OP_KEYWORDS = new Set(['collate', 'is', 'not', 'at', 'like', 'ilike', 'similar', 'between', 'in', 'overlaps', 'isnull', 'notnull']);

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}
function isIdentCont(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}
/** scan.l op_chars: ~ ! @ # ^ & | ` ? + - * / % < > = */
function isOpChar(c: number): boolean {
  return c === 126 || c === 33 || c === 64 || c === 35 || c === 94 || c === 38 || c === 124 || c === 96 || c === 63 || c === 43 || c === 45 || c === 42 || c === 47 || c === 37 || c === 60 || c === 62 || c === 61;
}

/** undefined when the text is within the limits; otherwise why it is refused. */
export function checkComplexity(sql: string): string | undefined {
  const n = sql.length;
  // One entry per open level: its opener ('(' '[' or 'c' for CASE), chain length, set operations.
  const openers: number[] = [0];
  const runs: number[] = [0];
  const setops: number[] = [0];
  let total = 0; // sum of runs and setops over open levels
  let i = 0;
  const reset = (): void => {
    const top = runs.length - 1;
    total -= runs[top]!;
    runs[top] = 0;
  };
  const push = (opener: number): string | undefined => {
    openers.push(opener);
    runs.push(0);
    setops.push(0);
    const depth = openers.length - 1;
    if (depth > MAX_NESTING) return `the statement is nested more than ${MAX_NESTING} levels deep, too deep to judge`;
    return check();
  };
  const pop = (): void => {
    if (openers.length <= 1) return;
    openers.pop();
    total -= runs.pop()! + setops.pop()!;
  };
  const check = (): string | undefined => {
    const weight = total + CHAIN_PER_LEVEL * (openers.length - 1);
    return weight > MAX_CHAIN ? `the statement chains too many operators (weight ${weight}, more than ${MAX_CHAIN}), too deep to judge` : undefined;
  };
  const operator = (): string | undefined => {
    runs[runs.length - 1]!++;
    total++;
    return check();
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c <= 32) {
      i++;
      continue;
    }
    if (c === 45 && sql.charCodeAt(i + 1) === 45) {
      const nl = sql.indexOf('\n', i + 2);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.charCodeAt(i) === 47 && sql.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (sql.charCodeAt(i) === 42 && sql.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === 39) {
      // E'...' (backslash escapes) when the quote follows a lone E/e.
      const prev = i > 0 ? sql.charCodeAt(i - 1) : 0;
      const escapes = (prev === 69 || prev === 101) && !(i > 1 && isIdentCont(sql.charCodeAt(i - 2)));
      i++;
      while (i < n) {
        const d = sql.charCodeAt(i);
        if (escapes && d === 92) i += 2;
        else if (d === 39) {
          if (sql.charCodeAt(i + 1) === 39) i += 2;
          else break;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === 34) {
      i++;
      while (i < n) {
        if (sql.charCodeAt(i) === 34) {
          if (sql.charCodeAt(i + 1) === 34) i += 2;
          else break;
        } else i++;
      }
      i++;
      continue;
    }
    if (c === 36) {
      // $n parameter, or $tag$ ... $tag$.
      let j = i + 1;
      if (j < n && sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) {
        while (j < n && sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) j++;
        i = j;
        continue;
      }
      while (j < n && isIdentStart(sql.charCodeAt(j))) j++;
      while (j < n && isIdentCont(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
      if (sql.charCodeAt(j) === 36) {
        const tag = sql.slice(i, j + 1);
        const end = sql.indexOf(tag, j + 1);
        i = end < 0 ? n : end + tag.length;
        continue;
      }
      i++;
      continue;
    }
    if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(sql.charCodeAt(j))) j++;
      if (j - i <= 9) {
        const word = sql.slice(i, j).toLowerCase();
        if (word === 'case') {
          const why = push(99);
          if (why !== undefined) return why;
        } else if (word === 'end') {
          if (openers[openers.length - 1] === 99) pop();
        } else if (RESET_KEYWORDS.has(word)) reset();
        else if (SETOP_KEYWORDS.has(word)) {
          setops[setops.length - 1]!++;
          total++;
          const why = check();
          if (why !== undefined) return why;
        } else if (OP_KEYWORDS.has(word)) {
          const why = operator();
          if (why !== undefined) return why;
        }
      }
      i = j;
      continue;
    }
    if (c === 40 || c === 91) {
      const why = push(c);
      if (why !== undefined) return why;
      i++;
      continue;
    }
    if (c === 41 || c === 93) {
      const top = openers[openers.length - 1];
      if ((c === 41 && top === 40) || (c === 93 && top === 91)) pop();
      i++;
      continue;
    }
    if (c === 44) {
      reset();
      i++;
      continue;
    }
    if (c === 59) {
      while (openers.length > 1) pop();
      total = 0;
      runs[0] = 0;
      setops[0] = 0;
      i++;
      continue;
    }
    if (c === 58 && sql.charCodeAt(i + 1) === 58) {
      const why = operator();
      if (why !== undefined) return why;
      i += 2;
      continue;
    }
    if (isOpChar(c)) {
      let j = i + 1;
      while (j < n && isOpChar(sql.charCodeAt(j)) && !(sql.charCodeAt(j) === 45 && sql.charCodeAt(j + 1) === 45) && !(sql.charCodeAt(j) === 47 && sql.charCodeAt(j + 1) === 42)) j++;
      const why = operator();
      if (why !== undefined) return why;
      i = j;
      continue;
    }
    i++;
  }
  return undefined;
}
