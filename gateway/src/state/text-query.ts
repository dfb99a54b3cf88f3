/**
 * How the console's full-text filter is answered, given the tsquery PostgreSQL made of the
 * search text (`websearch_to_tsquery('simple', q)::text`).
 *
 * A session row keeps the union of its events' lexemes without positions (so it stays small),
 * and a GIN index over it answers words, `or` and `-exclusions` exactly. Phrases need positions,
 * which only the per-event rows keep. On a position-less tsvector PostgreSQL treats `a <-> b` as
 * "maybe" (true when both words occur), which is right as a filter of candidates but wrong as an
 * answer, and a phrase also forces the index to recheck every candidate row.
 *
 * So the query is split in two:
 * - `prefilter`: the query with every phrase relaxed to what the session row can answer exactly
 *   (a phrase in a positive position becomes the AND of its words, a superset; under a NOT it
 *   becomes "false", so the NOT keeps every session, also a superset). Matched through the GIN
 *   index with no recheck.
 * - `check`: only when the query holds a phrase, the exact condition as a tree whose phrase
 *   leaves are answered by the session's event rows, evaluated on the few candidates the page needs.
 */

export type TextQueryNode =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'not'; readonly child: TextQueryNode }
  | { readonly kind: 'and' | 'or'; readonly left: TextQueryNode; readonly right: TextQueryNode }
  | { readonly kind: 'phrase'; readonly op: string; readonly left: TextQueryNode; readonly right: TextQueryNode };

/** The exact condition: `session` leaves are answered by the session row, `events` leaves by one event row. */
export type TextCheck =
  | { readonly kind: 'session'; readonly tsquery: string }
  | { readonly kind: 'events'; readonly tsquery: string }
  | { readonly kind: 'not'; readonly child: TextCheck }
  | { readonly kind: 'and' | 'or'; readonly left: TextCheck; readonly right: TextCheck };

export interface TextQueryPlan {
  /** For `doc @@ prefilter::tsquery` on the session row; `true` = every session is a candidate, `false` = none is. */
  readonly prefilter: string | boolean;
  /** The exact condition when the query holds a phrase; undefined when the prefilter is already exact. */
  readonly check?: TextCheck;
}

/** Parses PostgreSQL's text form of a tsquery (as tsqueryout prints it). Throws on anything else. */
export function parseTsquery(text: string): TextQueryNode {
  let i = 0;
  const skip = (): void => {
    while (text[i] === ' ') i++;
  };
  const fail = (): never => {
    throw new Error(`unexpected tsquery text at ${i}: ${text}`);
  };
  // Precedence, loosest first: | then & then <N> then !.
  const or = (): TextQueryNode => {
    let left = and();
    for (skip(); text[i] === '|'; skip()) {
      i++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): TextQueryNode => {
    let left = phrase();
    for (skip(); text[i] === '&'; skip()) {
      i++;
      left = { kind: 'and', left, right: phrase() };
    }
    return left;
  };
  const phrase = (): TextQueryNode => {
    let left = unary();
    for (skip(); text[i] === '<'; skip()) {
      const m = /^<(-|\d+)>/.exec(text.slice(i));
      if (m === null) return fail();
      i += m[0].length;
      left = { kind: 'phrase', op: m[0], left, right: unary() };
    }
    return left;
  };
  const unary = (): TextQueryNode => {
    skip();
    if (text[i] === '!') {
      i++;
      return { kind: 'not', child: unary() };
    }
    if (text[i] === '(') {
      i++;
      const inner = or();
      skip();
      if (text[i] !== ')') return fail();
      i++;
      return inner;
    }
    if (text[i] !== "'") return fail();
    const start = i;
    for (i++; i < text.length; i++) {
      if (text[i] === "'" && text[i + 1] === "'") i++;
      else if (text[i] === "'") break;
    }
    if (text[i] !== "'") return fail();
    i++;
    // A weight or prefix marker (`:*`, `:AB`) belongs to the operand.
    const suffix = /^:[*A-Da-d]+/.exec(text.slice(i));
    if (suffix !== null) i += suffix[0].length;
    return { kind: 'word', text: text.slice(start, i) };
  };
  const node = or();
  skip();
  if (i !== text.length) fail();
  return node;
}

/** The tsquery text of a node, fully parenthesized. */
export function tsqueryText(n: TextQueryNode): string {
  switch (n.kind) {
    case 'word':
      return n.text;
    case 'not':
      return `!(${tsqueryText(n.child)})`;
    case 'and':
      return `(${tsqueryText(n.left)} & ${tsqueryText(n.right)})`;
    case 'or':
      return `(${tsqueryText(n.left)} | ${tsqueryText(n.right)})`;
    case 'phrase':
      return `(${tsqueryText(n.left)} ${n.op} ${tsqueryText(n.right)})`;
  }
}

function hasPhrase(n: TextQueryNode): boolean {
  switch (n.kind) {
    case 'word':
      return false;
    case 'not':
      return hasPhrase(n.child);
    case 'phrase':
      return true;
    default:
      return hasPhrase(n.left) || hasPhrase(n.right);
  }
}

type Relaxed = TextQueryNode | boolean;

/** Words every match of a phrase must hold (operands not under a NOT or an OR). */
function requiredWords(n: TextQueryNode): TextQueryNode[] {
  switch (n.kind) {
    case 'word':
      return [n];
    case 'and':
    case 'phrase':
      return [...requiredWords(n.left), ...requiredWords(n.right)];
    default:
      return [];
  }
}

function andOf(a: Relaxed, b: Relaxed): Relaxed {
  if (a === false || b === false) return false;
  if (a === true) return b;
  if (b === true) return a;
  return { kind: 'and', left: a, right: b };
}

function orOf(a: Relaxed, b: Relaxed): Relaxed {
  if (a === true || b === true) return true;
  if (a === false) return b;
  if (b === false) return a;
  return { kind: 'or', left: a, right: b };
}

/** A superset of `n` (positive) or a subset of it (under an odd number of NOTs) without phrases. */
function relax(n: TextQueryNode, positive: boolean): Relaxed {
  switch (n.kind) {
    case 'word':
      return n;
    case 'not': {
      const c = relax(n.child, !positive);
      return typeof c === 'boolean' ? !c : { kind: 'not', child: c };
    }
    case 'and':
      return andOf(relax(n.left, positive), relax(n.right, positive));
    case 'or':
      return orOf(relax(n.left, positive), relax(n.right, positive));
    case 'phrase':
      return positive ? requiredWords(n).reduce<Relaxed>((acc, w) => andOf(acc, w), true) : false;
  }
}

function check(n: TextQueryNode): TextCheck {
  if (!hasPhrase(n)) return { kind: 'session', tsquery: tsqueryText(n) };
  switch (n.kind) {
    case 'phrase':
      return { kind: 'events', tsquery: tsqueryText(n) };
    case 'not':
      return { kind: 'not', child: check(n.child) };
    case 'and':
    case 'or':
      return { kind: n.kind, left: check(n.left), right: check(n.right) };
    default:
      throw new Error('unreachable');
  }
}

/** Splits a tsquery (its text form) into the indexed prefilter and, for phrases, the exact check. */
export function planTextQuery(tsquery: string): TextQueryPlan {
  const root = parseTsquery(tsquery);
  if (!hasPhrase(root)) return { prefilter: tsquery };
  const pre = relax(root, true);
  return { prefilter: typeof pre === 'boolean' ? pre : tsqueryText(pre), check: check(root) };
}
