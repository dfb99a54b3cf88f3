/**
 * The built-in detectors in one pass per trigger character (issue 5: the engine must reach
 * 100 MB/s).
 *
 * Running each detector's regular expression over a large body costs one full scan per rule,
 * and most rules begin with characters that are common in real traffic (digits, `:`, `=`,
 * letters), so the regex engine's own literal search does not help. A JavaScript loop that reads
 * every character and dispatches on a table costs 3-5 ns per character on JSON, where a fifth of
 * all characters are digits, colons or dashes. Instead each rule is reached only through the
 * character or literal it hinges on, found natively: `@` for emails; `:` for IPv6, database URLs
 * and assignments (and Slack webhook URLs); `=` for assignments and Azure keys; `gh`, `_pat_`, `k_`,
 * `_key`, `BEGIN `, `glpat-`, `xox`, `AKIA`/`ASIA`, `J`, `sk-`, `AIza`, `npm_`, `pypi-` and `hf_`
 * for the literal-prefixed tokens; `+` and `(` for phone
 * layouts (String.prototype.indexOf, a memchr-like native search); digit runs for cards, phones,
 * IBANs, SSNs and IPv4 (one regex that skips runs no digit rule could start). A cheap
 * inline check on the neighbouring characters discards almost every trigger; the survivors run
 * the rule's own regular expression, sticky, at the one offset where its match would begin
 * (no substring is allocated).
 *
 * Why it finds exactly what each rule's own `find` finds: every offset at which a rule's regex
 * can match is offered to it (the checks below are necessary conditions taken from the pattern,
 * never stricter), offsets reach each rule in increasing order, and an offset inside the previous
 * match of that rule (accepted or rejected) is skipped, as a global regex resumes at the end of
 * its last match. test/gateway/masking/single-pass.test.ts checks this against `find` on the
 * corpus and on generated documents.
 */
import type { Detection, Detector } from '../detector';
import { anthropicApiKey } from './anthropic-api-key';
import { awsAccessKeyId } from './aws-access-key-id';
import { awsSecretAccessKey } from './aws-secret-access-key';
import { azureStorageConnectionString } from './azure-storage-connection-string';
import { databaseUrl } from './database-url';
import { email, emailAt } from './email';
import { genericAssignment } from './generic-assignment';
import { githubToken } from './github-token';
import { gitlabToken } from './gitlab-token';
import { googleApiKey } from './google-api-key';
import { googleServiceAccountKey } from './google-service-account-key';
import { huggingfaceToken } from './huggingface-token';
import { iban } from './iban';
import { ipv4Address } from './ipv4-address';
import { ipv6Address, ipv6At } from './ipv6-address';
import { jwt } from './jwt';
import { npmToken } from './npm-token';
import { openaiApiKey } from './openai-api-key';
import { matchAtOf, type MatchAt } from './pattern';
import { paymentCard } from './payment-card';
import { pemPrivateKey } from './pem-private-key';
import { phone } from './phone';
import { pypiToken } from './pypi-token';
import { slackToken } from './slack-token';
import { slackWebhook } from './slack-webhook';
import { stripeKey } from './stripe-key';
import { usSsn } from './us-ssn';
import { TRIGGER_CHUNK, triggerScanner, type TriggerScanner } from './trigger-scan';
import { engineFor, type WasmEngineMode } from '../wasm';

// Rule slots.
const AWS_KEY = 0;
const AWS_SECRET = 1;
const GITHUB = 2;
const GITLAB = 3;
const SLACK = 4;
const STRIPE = 5;
const GOOGLE = 6;
const AZURE = 7;
const PEM = 8;
const JWT = 9;
const DB_URL = 10;
const GENERIC = 11;
const EMAIL = 12;
const PHONE = 13;
const CARD = 14;
const IBAN = 15;
const SSN = 16;
const IPV4 = 17;
const IPV6 = 18;
const ANTHROPIC = 19;
const OPENAI = 20;
const GOOGLE_API = 21;
const SLACK_HOOK = 22;
const NPM = 23;
const PYPI = 24;
const HF = 25;
const SLOTS = 26;

const BY_SLOT: readonly Detector[] = [
  awsAccessKeyId, awsSecretAccessKey, githubToken, gitlabToken, slackToken, stripeKey, googleServiceAccountKey,
  azureStorageConnectionString, pemPrivateKey, jwt, databaseUrl, genericAssignment, email, phone, paymentCard,
  iban, usSsn, ipv4Address, ipv6Address, anthropicApiKey, openaiApiKey, googleApiKey, slackWebhook, npmToken, pypiToken,
  huggingfaceToken,
];

function matcher(d: Detector): MatchAt {
  const m = matchAtOf(d);
  if (m === undefined) throw new Error(`built-in detector ${d.id} has no one-offset matcher`);
  return m;
}
const AT: readonly (MatchAt | undefined)[] = BY_SLOT.map((d, slot) => (slot === EMAIL || slot === IPV6 ? undefined : matcher(d)));

/** Slot of a built-in detector, keyed by its `find` (the same function whatever object wraps it). */
const SLOT_OF = new Map<unknown, number>(BY_SLOT.map((d, slot) => [d.find, slot]));

/** The slot that scans `d` in the single pass, or -1 when `d` is not a built-in (custom rules). */
export function singlePassSlot(d: Detector): number {
  const slot = SLOT_OF.get(d.find);
  // The same find on an object that changed the rule's identity (another id or maxLength) is not ours.
  if (slot === undefined || BY_SLOT[slot]!.id !== d.id || BY_SLOT[slot]!.maxLength !== d.maxLength || BY_SLOT[slot]!.type !== d.type) return -1;
  return slot;
}

// Character classes (ASCII; everything at or above 128 is in none of them).
const C_DIGIT = 1;
const C_UPPER = 2;
const C_LOWER = 4;
const C_UNDERSCORE = 8;
const C_HEX = 16;
const CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLASS[c] = C_DIGIT | C_HEX;
for (let c = 65; c <= 90; c++) CLASS[c] = C_UPPER | (c <= 70 ? C_HEX : 0);
for (let c = 97; c <= 122; c++) CLASS[c] = C_LOWER | (c <= 102 ? C_HEX : 0);
CLASS[95] = C_UNDERSCORE;
const ALNUM = C_DIGIT | C_UPPER | C_LOWER;
const WORD = ALNUM | C_UNDERSCORE;

/** Class bits of the character at `i` (0 outside the text and for non-ASCII). */
function cls(text: string, i: number): number {
  if (i < 0 || i >= text.length) return 0;
  const c = text.charCodeAt(i);
  return c < 128 ? CLASS[c]! : 0;
}

/** JavaScript's `\s`. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** Three lower-cased ASCII characters as one number, for the keyword-suffix checks. */
function tri(a: string): number {
  return (a.charCodeAt(0) << 16) | (a.charCodeAt(1) << 8) | a.charCodeAt(2);
}
/** Last three letters of every generic-assignment keyword (password, passwd, pwd, secret, *key, *token, passphrase). */
const GENERIC_SUFFIX = new Set(['ord', 'swd', 'pwd', 'ret', 'key', 'ken', 'ase'].map(tri));
/** Last three letters of every AWS secret keyword (…key, …secret). */
const AWS_SUFFIX = new Set(['key', 'ret'].map(tri));
/** Longest and shortest keywords (`refresh_token`/`client_secret`, `pwd`; `aws_secret_access_key`, `awssecret`). */
const GENERIC_KEY_MAX = 13;
const GENERIC_KEY_MIN = 3;
const AWS_KEY_MAX = 21;
const AWS_KEY_MIN = 9;

export interface SinglePassPlan {
  /** Per slot: 1 when the rule is selected. */
  readonly on: Uint8Array;
}

/** The plan for a set of slots (built once per detector list). */
export function singlePassPlan(slots: readonly number[]): SinglePassPlan {
  const on = new Uint8Array(SLOTS);
  for (const s of slots) on[s] = 1;
  return { on };
}

// Scan state, module-level rather than closures so the hot loop compiles to plain calls. A pass
// never runs nested (no rule calls back into the scanner), so one set is enough.
/** Where each rule's scan resumes (the end of its last match), as a global regex's lastIndex. */
const next = new Int32Array(SLOTS);
let outs: Detection[][] = [];
let on: Uint8Array = new Uint8Array(SLOTS);
/** Last offsets tried by the look-back rules, so one offset is never tried twice. */
let genericTried = -1;
let awsTried = -1;

function tryAt(text: string, slot: number, start: number): boolean {
  if (start < next[slot]!) return false;
  const end = AT[slot]!(text, start, outs[slot]!);
  if (end < 0) return false;
  next[slot] = end;
  return true;
}

/**
 * End of the keyword before an operator at `op` (past `\s{0,max}` and an optional quote, and with
 * `backslashes` up to seven backslashes before that quote: the generic rule's escaped JSON), or -1.
 */
function keyEnd(text: string, op: number, maxSpaces: number, backslashes = false): number {
  let e = op;
  while (e > 0 && isSpace(text.charCodeAt(e - 1))) {
    e--;
    if (op - e > maxSpaces) return -1;
  }
  if (e > 0) {
    const q = text.charCodeAt(e - 1);
    if (q === 34 || q === 39) {
      e--;
      if (backslashes) {
        const quote = e;
        while (e > 0 && quote - e < 7 && text.charCodeAt(e - 1) === 92) e--;
      }
    }
  }
  return e;
}

/** Whether `count` digits start at `p`. */
function digitRun(text: string, p: number, count: number): boolean {
  for (let k = p; k < p + count; k++) if ((cls(text, k) & C_DIGIT) === 0) return false;
  return true;
}

/** Whether one to three digits and a dot start at `p`. */
function digitsThenDot(text: string, p: number): boolean {
  let k = p;
  while (k < p + 3 && (cls(text, k) & C_DIGIT) !== 0) k++;
  return k > p && text.charCodeAt(k) === 46;
}

/** The four characters before `at`, ASCII letters lower-cased (the rule is case-insensitive and never folds non-ASCII onto ASCII). */
function tail4(text: string, at: number): number {
  return (
    (((text.charCodeAt(at - 4) | 32) & 0xffff) * 0x1000000) + ((text.charCodeAt(at - 3) | 32) << 16) + ((text.charCodeAt(at - 2) | 32) << 8) + (text.charCodeAt(at - 1) | 32)
  );
}
function tail4Of(s: string): number {
  return tail4(s, s.length);
}
/** Last four characters of every database URL scheme (database-url.ts): https and the like never reach the regex. */
const DB_SCHEME_TAIL = new Set(
  ['postgres', 'postgresql', 'mysql', 'mariadb', 'mongodb', 'mongodb+srv', 'redis', 'rediss', 'amqp', 'amqps', 'mssql', 'sqlserver'].map(tail4Of),
);

function suffix(text: string, e: number): number {
  return ((text.charCodeAt(e - 3) | 32) << 16) | ((text.charCodeAt(e - 2) | 32) << 8) | (text.charCodeAt(e - 1) | 32);
}

/** `password=…`-style assignments and AWS secret keys: both key on the word before `:` or `=`. */
function assignment(text: string, op: number): void {
  // Cheap first: the character before the operator (past spaces and a quote) must end a keyword.
  let k = op - 1;
  while (k >= 0 && k >= op - 4 && isSpace(text.charCodeAt(k))) k--;
  if (k < 0) return;
  let p = k; // the keyword's last character
  let last = text.charCodeAt(p);
  if (last === 34 || last === 39) {
    last = --p >= 0 ? text.charCodeAt(p) : 0;
    // An escaped quote (`password\":`): the generic rule allows up to seven backslashes.
    for (let b = 0; b < 7 && last === 92; b++) last = --p >= 0 ? text.charCodeAt(p) : 0;
  }
  last |= 32;
  // d (password, passwd, pwd), t (secret), y (…key), n (…token), e (passphrase).
  if (last !== 100 && last !== 116 && last !== 121 && last !== 110 && last !== 101) return;
  // And before it r (password), w (passwd, pwd), e (secret, …key, …token) or s (passphrase):
  // this rejects most JSON keys (`"title":`, `"id":`, `"created_at":`) before any look-back.
  const middle = p > 0 ? text.charCodeAt(p - 1) | 32 : 0;
  if (middle !== 114 && middle !== 119 && middle !== 101 && middle !== 115) return;
  // One look-back for both rules: the generic rule allows three spaces before the operator, the
  // AWS rule four, so the keyword end is found with four and the generic rule checks the count.
  const e = keyEnd(text, op, 4);
  if (e < 0) return;
  if (on[GENERIC] === 1) {
    // The generic rule's keyword may end before an escaped quote; the AWS rule's may not.
    const g = keyEnd(text, op, 3, true);
    if (g >= GENERIC_KEY_MIN && GENERIC_SUFFIX.has(suffix(text, g))) {
      const e = g;
      // The keyword starts a word (no letter or digit before it) with p, s, c, a or r.
      for (let s = Math.max(e - GENERIC_KEY_MAX, genericTried + 1, next[GENERIC]!); s <= e - GENERIC_KEY_MIN; s++) {
        const f = text.charCodeAt(s) | 32;
        if (f !== 112 && f !== 115 && f !== 99 && f !== 97 && f !== 114) continue;
        if ((cls(text, s - 1) & ALNUM) !== 0) continue;
        genericTried = s;
        if (tryAt(text, GENERIC, s)) break;
      }
    }
  }
  if (on[AWS_SECRET] === 1) {
    if (e >= AWS_KEY_MIN && AWS_SUFFIX.has(suffix(text, e))) {
      // No word boundary in this rule: any a/s may start its keyword.
      for (let s = Math.max(e - AWS_KEY_MAX, awsTried + 1, next[AWS_SECRET]!); s <= e - AWS_KEY_MIN; s++) {
        const f = text.charCodeAt(s) | 32;
        if (f !== 97 && f !== 115) continue;
        awsTried = s;
        if (tryAt(text, AWS_SECRET, s)) break;
      }
    }
  }
}

/**
 * Runs the selected built-in rules over `text`; `into[slot]` receives each rule's detections in
 * the order its own `find` returns them.
 */
export function singlePass(text: string, plan: SinglePassPlan, into: Detection[][]): void {
  next.fill(0);
  genericTried = -1;
  awsTried = -1;
  outs = into;
  on = plan.on;
  try {
    scan(text);
  } finally {
    outs = [];
  }
}

/**
 * Where a digit run that some digit rule could start at begins, found by the regex engine in
 * native code (a JavaScript loop over every character costs 3-5 ns per character on
 * digit-heavy JSON, mostly in mispredicted branches). Each alternative consumes the character
 * before the run and the run's first two characters (three consumed characters let the
 * engine's quick check reject most offsets at once: a lookahead straight after the first
 * character runs three times slower, after the first digit 35% slower). The lookahead is a
 * superset of the digit cases' own conditions in `atDigitRun`, never stricter:
 * - an upper-case letter and two digits (IBAN);
 * - any other character but a letter, digit, `_` or `.`, a digit, a digit or a dot, then one
 *   of: the rest of an IPv4-like `d.d.` (one to three digits each), of four digits, a separator
 *   and four more (cards), of eight digits (long cards), of three digits and `-` or `.` (phones,
 *   SSNs), or of up to five digits and a space (national phone numbers, which start with 0).
 * A run at offset 0 has no character before it and is checked directly.
 */
const DIGIT_RUN = /[A-Z]\d\d|[^A-Za-z0-9_.]\d[\d.](?=\d{0,2}\.?\d{1,3}\.|\d\d[ -]\d{4}|\d{6}|\d[-.]|\d{0,3} )/g;

/** Next start of a digit run worth checking at or after `from`, or -1. */
function nextDigitRun(text: string, from: number): number {
  if (from === 0) {
    const c = text.charCodeAt(0);
    if (c >= 48 && c <= 57) return 0;
  }
  DIGIT_RUN.lastIndex = from === 0 ? 0 : from - 1;
  // The match ends two characters into the run.
  return DIGIT_RUN.test(text) ? DIGIT_RUN.lastIndex - 2 : -1;
}

/** Texts shorter than this take the indexOf passes: the copy into WebAssembly costs more than it saves. */
const SIMD_MIN_LENGTH = 256;
let simd: TriggerScanner | undefined = triggerScanner;
let simdMinLength = SIMD_MIN_LENGTH;

/**
 * Which engine finds the triggers: the SIMD pre-pass for texts of SIMD_MIN_LENGTH or more
 * (`auto`, the default), always, or never (the indexOf passes). Both find the same detections;
 * the tests run each, the benchmarks compare them. `always` and `auto` fall back to the indexOf
 * passes where WebAssembly SIMD is unavailable; returns whether the pre-pass is available.
 */
export function useTriggerScan(mode: WasmEngineMode): boolean {
  ({ engine: simd, minLength: simdMinLength } = engineFor(mode, triggerScanner, SIMD_MIN_LENGTH));
  return triggerScanner !== undefined;
}

/**
 * The rules at the offsets the SIMD pre-pass reports (trigger-scan.ts lists them), visited in
 * increasing order: each rule sees its candidate starts in increasing order, as from its own
 * pass below. A pair is reported at its second character, a digit run at its second character.
 * The checks after each event are the ones the indexOf passes make after finding the same
 * literal; an event that is none of them (the classifier's superset) does nothing.
 */
function scanEvents(scanner: TriggerScanner, text: string, n: number): void {
  const digits = on[CARD] === 1 || on[IBAN] === 1 || on[SSN] === 1 || on[IPV4] === 1 || on[PHONE] === 1;
  const colonRules = on[IPV6] === 1 || on[DB_URL] === 1 || on[GENERIC] === 1 || on[AWS_SECRET] === 1 || on[SLACK_HOOK] === 1;
  const equalsRules = on[AZURE] === 1 || on[GENERIC] === 1 || on[AWS_SECRET] === 1;
  const events = scanner.events;
  for (let from = 0; from < n; from += TRIGGER_CHUNK) {
    const count = scanner.scan(text, from, Math.min(n, from + TRIGGER_CHUNK));
    for (let k = 0; k < count; k++) {
      const i = events[k]!;
      switch (text.charCodeAt(i)) {
        case 58: // :
          if (colonRules) atColon(text, i, n);
          break;
        case 61: // =
          if (equalsRules) atEquals(text, i);
          break;
        case 64: // @
          if (on[EMAIL] === 1 && i >= next[EMAIL]!) next[EMAIL] = emailAt(text, i, outs[EMAIL]!);
          break;
        case 43: // +
          if (on[PHONE] === 1) atPlus(text, i);
          break;
        case 40: // (
          if (on[PHONE] === 1) atParen(text, i);
          break;
        case 104: // gh: gh[pousr]_
          if (on[GITHUB] === 1) {
            const c = text.charCodeAt(i + 1);
            if (text.charCodeAt(i + 2) === 95 && (c === 112 || c === 111 || c === 117 || c === 115 || c === 114)) tryAt(text, GITHUB, i - 1);
          }
          break;
        case 112: // _p: github_pat_
          if (on[GITHUB] === 1 && i >= 7 && text.startsWith('_pat_', i - 1) && text.startsWith('github', i - 7)) tryAt(text, GITHUB, i - 7);
          break;
        case 108: // gl: glpat-
          if (on[GITLAB] === 1 && text.startsWith('glpat-', i - 1)) tryAt(text, GITLAB, i - 1);
          break;
        case 95: // k_: sk_, rk_; m_: npm_; f_: hf_
          atUnderscore(text, i);
          break;
        case 45: // k-: sk-ant-, sk-proj-, sk-…; i-: pypi- (and the classifier's superset: B-, I-, K-, b-)
          atDash(text, i);
          break;
        case 73: // AI: AIza (and the superset bI, iI, …: startsWith decides)
          if (on[GOOGLE_API] === 1 && text.startsWith('AIza', i - 1)) tryAt(text, GOOGLE_API, i - 1);
          break;
        case 107: // _k: "private_key
          if (on[GOOGLE] === 1 && i >= 9 && text.startsWith('_key', i - 1) && text.startsWith('"private', i - 9)) tryAt(text, GOOGLE, i - 9);
          break;
        case 69: // BE: -----BEGIN
          if (on[PEM] === 1 && i >= 6 && text.startsWith('BEGIN ', i - 1) && text.startsWith('-----', i - 6)) tryAt(text, PEM, i - 6);
          break;
        case 111: // xo: xox[abprs]-
          if (on[SLACK] === 1 && text.charCodeAt(i + 1) === 120 && text.charCodeAt(i + 3) === 45) {
            const c = text.charCodeAt(i + 2);
            if (c === 97 || c === 98 || c === 112 || c === 114 || c === 115) tryAt(text, SLACK, i - 1);
          }
          break;
        case 75: // AK: AKIA
          if (on[AWS_KEY] === 1 && text.startsWith('AKIA', i - 1)) tryAt(text, AWS_KEY, i - 1);
          break;
        case 83: // AS: ASIA
          if (on[AWS_KEY] === 1 && text.startsWith('ASIA', i - 1)) tryAt(text, AWS_KEY, i - 1);
          break;
        case 74: // yJ: eyJ
          if (on[JWT] === 1 && i >= 2 && text.charCodeAt(i - 2) === 101) tryAt(text, JWT, i - 2);
          break;
        default: {
          // The second character of a digit run (a digit or `.`), whose start is the one before
          // (no other run can start inside it: a start follows a non-digit); anything else is the
          // classifier's superset.
          const c = text.charCodeAt(i);
          if (digits && (c === 46 || (c >= 48 && c <= 57))) atDigitRun(text, i - 1, n);
        }
      }
    }
  }
}

/**
 * Each trigger character is found with indexOf (native, a few hundred picoseconds per character
 * when the character is rare) or, for digits, with one regex; a rule sees its offsets in
 * increasing order because every rule is fed by one pass, or by one merge of passes in
 * position order (phones: digits, `+` and `(`; assignments: `:` and `=`; AWS keys: AKIA and
 * ASIA). Passes are independent otherwise: each rule writes only to its own list.
 */
function scan(text: string): void {
  const n = text.length;
  if (n === 0) return;
  if (simd !== undefined && n >= simdMinLength) {
    scanEvents(simd, text, n);
    return;
  }
  if (on[PHONE] === 1 || on[CARD] === 1 || on[IBAN] === 1 || on[SSN] === 1 || on[IPV4] === 1) digitPass(text, n);
  if (on[IPV6] === 1 || on[DB_URL] === 1 || on[GENERIC] === 1 || on[AWS_SECRET] === 1 || on[AZURE] === 1 || on[SLACK_HOOK] === 1) assignmentPass(text, n);
  if (on[EMAIL] === 1) {
    for (let i = text.indexOf('@'); i >= 0; i = text.indexOf('@', i + 1)) {
      if (i >= next[EMAIL]!) next[EMAIL] = emailAt(text, i, outs[EMAIL]!);
    }
  }
  // Literal-prefixed tokens: each rule has its own literal, rarer than the `_` or `-` in it.
  if (on[GITHUB] === 1) {
    // ghp_ gho_ ghu_ ghs_ ghr_, merged in position order with github_pat_ (the same rule).
    let g = nextGhPrefix(text, 0);
    let p = nextAfterPrefix(text, '_pat_', 'github', 0);
    while (g >= 0 || p >= 0) {
      if (p < 0 || (g >= 0 && g < p)) {
        tryAt(text, GITHUB, g);
        g = nextGhPrefix(text, g + 1);
      } else {
        tryAt(text, GITHUB, p);
        p = nextAfterPrefix(text, '_pat_', 'github', p + 1);
      }
    }
  }
  if (on[STRIPE] === 1) {
    for (let i = text.indexOf('k_'); i >= 0; i = text.indexOf('k_', i + 1)) {
      const f = i > 0 ? text.charCodeAt(i - 1) : 0;
      if (f === 115 || f === 114) tryAt(text, STRIPE, i - 1);
    }
  }
  if (on[GOOGLE] === 1) {
    for (let i = nextAfterPrefix(text, '_key', '"private', 0); i >= 0; i = nextAfterPrefix(text, '_key', '"private', i + 1)) tryAt(text, GOOGLE, i);
  }
  if (on[PEM] === 1) {
    for (let i = nextAfterPrefix(text, 'BEGIN ', '-----', 0); i >= 0; i = nextAfterPrefix(text, 'BEGIN ', '-----', i + 1)) tryAt(text, PEM, i);
  }
  if (on[GITLAB] === 1) {
    for (let i = text.indexOf('glpat-'); i >= 0; i = text.indexOf('glpat-', i + 1)) tryAt(text, GITLAB, i);
  }
  if (on[SLACK] === 1) {
    for (let i = text.indexOf('xox'); i >= 0; i = text.indexOf('xox', i + 1)) {
      const c = text.charCodeAt(i + 3);
      if (text.charCodeAt(i + 4) === 45 && (c === 97 || c === 98 || c === 112 || c === 114 || c === 115)) tryAt(text, SLACK, i);
    }
  }
  if (on[AWS_KEY] === 1) {
    let k = text.indexOf('AKIA');
    let s = text.indexOf('ASIA');
    while (k >= 0 || s >= 0) {
      if (s < 0 || (k >= 0 && k < s)) {
        tryAt(text, AWS_KEY, k);
        k = text.indexOf('AKIA', k + 1);
      } else {
        tryAt(text, AWS_KEY, s);
        s = text.indexOf('ASIA', s + 1);
      }
    }
  }
  if (on[JWT] === 1) {
    for (let i = text.indexOf('J'); i >= 0; i = text.indexOf('J', i + 1)) {
      if (i >= 2 && text.charCodeAt(i - 1) === 121 && text.charCodeAt(i - 2) === 101) tryAt(text, JWT, i - 2);
    }
  }
  if (on[ANTHROPIC] === 1 || on[OPENAI] === 1) {
    for (let i = text.indexOf('sk-'); i >= 0; i = text.indexOf('sk-', i + 1)) skDash(text, i);
  }
  if (on[GOOGLE_API] === 1) {
    for (let i = text.indexOf('AIza'); i >= 0; i = text.indexOf('AIza', i + 1)) tryAt(text, GOOGLE_API, i);
  }
  if (on[NPM] === 1) {
    for (let i = text.indexOf('npm_'); i >= 0; i = text.indexOf('npm_', i + 1)) tryAt(text, NPM, i);
  }
  if (on[PYPI] === 1) {
    for (let i = text.indexOf('pypi-'); i >= 0; i = text.indexOf('pypi-', i + 1)) tryAt(text, PYPI, i);
  }
  if (on[HF] === 1) {
    for (let i = text.indexOf('hf_'); i >= 0; i = text.indexOf('hf_', i + 1)) tryAt(text, HF, i);
  }
}

/** `sk-` at `i`: Anthropic's `sk-ant-`, else OpenAI's (project, service, admin or legacy) keys. */
function skDash(text: string, i: number): void {
  if (text.startsWith('ant-', i + 3)) {
    if (on[ANTHROPIC] === 1) tryAt(text, ANTHROPIC, i);
  } else if (on[OPENAI] === 1) {
    tryAt(text, OPENAI, i);
  }
}

/** A `_` after `k` (Stripe's `sk_`, `rk_`), `m` (`npm_`) or `f` (`hf_`). */
function atUnderscore(text: string, i: number): void {
  const p = text.charCodeAt(i - 1);
  if (p === 107) {
    if (on[STRIPE] === 1 && i >= 2) {
      const f = text.charCodeAt(i - 2);
      if (f === 115 || f === 114) tryAt(text, STRIPE, i - 2);
    }
  } else if (p === 109) {
    if (on[NPM] === 1 && text.startsWith('np', i - 3)) tryAt(text, NPM, i - 3);
  } else if (p === 102) {
    if (on[HF] === 1 && text.charCodeAt(i - 2) === 104) tryAt(text, HF, i - 2);
  }
}

/** A `-` after `k` (`sk-`) or `i` (`pypi-`). */
function atDash(text: string, i: number): void {
  const p = text.charCodeAt(i - 1);
  if (p === 107) {
    if (text.charCodeAt(i - 2) === 115) skDash(text, i - 2);
  } else if (p === 105) {
    if (on[PYPI] === 1 && text.startsWith('pyp', i - 4)) tryAt(text, PYPI, i - 4);
  }
}

/**
 * Next `prefix + needle` whose needle starts at or after `from + prefix.length`; returns where
 * the prefix starts, or -1. V8 searches a multi-character string by its first character, so a
 * literal that starts with a common one (`"`, `-`, `g`) is searched by a later, rarer part.
 */
function nextAfterPrefix(text: string, needle: string, prefix: string, from: number): number {
  for (let i = text.indexOf(needle, from + prefix.length); i >= 0; i = text.indexOf(needle, i + 1)) {
    if (text.startsWith(prefix, i - prefix.length)) return i - prefix.length;
  }
  return -1;
}

/** Next `gh[pousr]_` at or after `from`, or -1. */
function nextGhPrefix(text: string, from: number): number {
  for (let i = text.indexOf('gh', from); i >= 0; i = text.indexOf('gh', i + 1)) {
    const c = text.charCodeAt(i + 2);
    if (text.charCodeAt(i + 3) === 95 && (c === 112 || c === 111 || c === 117 || c === 115 || c === 114)) return i;
  }
  return -1;
}

/** Digit runs, `+` and `(`, merged in position order (all three feed the phone rule). */
function digitPass(text: string, n: number): void {
  const digits = on[CARD] === 1 || on[IBAN] === 1 || on[SSN] === 1 || on[IPV4] === 1 || on[PHONE] === 1;
  let d = digits ? nextDigitRun(text, 0) : -1;
  let p = on[PHONE] === 1 ? text.indexOf('+') : -1;
  let q = on[PHONE] === 1 ? text.indexOf('(') : -1;
  for (;;) {
    // The smallest of the three next offsets (-1 means that stream is done).
    let i = d;
    if (p >= 0 && (i < 0 || p < i)) i = p;
    if (q >= 0 && (i < 0 || q < i)) i = q;
    if (i < 0) return;
    if (i === d) {
      const e = atDigitRun(text, i, n);
      d = e < n ? nextDigitRun(text, e) : -1;
    } else if (i === p) {
      atPlus(text, i);
      p = text.indexOf('+', i + 1);
    } else {
      atParen(text, i);
      q = text.indexOf('(', i + 1);
    }
  }
}

/** `:` and `=`, merged in position order (both feed the assignment rules). */
function assignmentPass(text: string, n: number): void {
  const colonRules = on[IPV6] === 1 || on[DB_URL] === 1 || on[GENERIC] === 1 || on[AWS_SECRET] === 1 || on[SLACK_HOOK] === 1;
  const equalsRules = on[AZURE] === 1 || on[GENERIC] === 1 || on[AWS_SECRET] === 1;
  let c = colonRules ? text.indexOf(':') : -1;
  let e = equalsRules ? text.indexOf('=') : -1;
  while (c >= 0 || e >= 0) {
    if (e < 0 || (c >= 0 && c < e)) {
      atColon(text, c, n);
      c = text.indexOf(':', c + 1);
    } else {
      atEquals(text, e);
      e = text.indexOf('=', e + 1);
    }
  }
}

/**
 * The digit rules at the start of a digit run (`i` is a digit, the character before is not);
 * returns the end of the run. A run after a lower-case letter, digit or `_` (hex, base64,
 * words) starts no rule.
 */
function atDigitRun(text: string, i: number, n: number): number {
  const c = text.charCodeAt(i);
  let e = i + 1;
  while (e < n) {
    const d = text.charCodeAt(e);
    if (d < 48 || d > 57) break;
    e++;
  }
  const before = i > 0 ? text.charCodeAt(i - 1) : -1;
  const beforeCls = before >= 0 && before < 128 ? CLASS[before]! : 0;
  if ((beforeCls & (C_LOWER | C_DIGIT | C_UNDERSCORE)) !== 0) return e;
  const len = e - i;
  const after = e < n ? text.charCodeAt(e) : -1;
  if ((beforeCls & C_UPPER) !== 0) {
    // IBAN: two capitals (starting a word) and two digits.
    if (on[IBAN] === 1 && len >= 2 && (cls(text, i - 2) & C_UPPER) !== 0 && (cls(text, i - 3) & ALNUM) === 0) tryAt(text, IBAN, i - 2);
  } else if (before !== 46) {
    const dash = before === 45;
    // An address has a second dot after one to three more digits (scores like 512.345 do not).
    if (on[IPV4] === 1 && len <= 3 && after === 46 && digitsThenDot(text, e + 1)) tryAt(text, IPV4, i);
    if (!dash) {
      const sep = after === 32 || after === 45;
      // Cards: 4 digits, a separator and a digit; or 13-19 digits; or 8-12 then a separator and a digit.
      if (
        on[CARD] === 1 &&
        // Four digits and a separator need four more digits (dates like 2025-03-12 do not).
        ((len === 4 && sep && digitRun(text, e + 1, 4)) || (len >= 13 && len <= 19) || (len >= 8 && len <= 12 && sep && (cls(text, e + 1) & C_DIGIT) !== 0))
      ) {
        tryAt(text, CARD, i);
      }
      if (on[PHONE] === 1 && before !== 43 && before !== 47) {
        if ((len === 3 && c >= 50 && (after === 45 || after === 46)) || (c === 48 && len >= 2 && len <= 5 && after === 32)) tryAt(text, PHONE, i);
      }
      if (on[SSN] === 1 && len === 3 && after === 45) tryAt(text, SSN, i);
    }
  }
  return e;
}

function atColon(text: string, i: number, n: number): void {
  // The character after the colon tells which of the two colon-anchored rules can match: `/`
  // for a database URL, a hex digit or a second colon for IPv6. Most colons (JSON keys, prose)
  // have neither, and reach only the assignment check.
  const c = text.charCodeAt(i + 1); // NaN past the end
  if (c === 47) {
    if (on[DB_URL] === 1 && text.charCodeAt(i + 2) === 47 && i >= 4 && DB_SCHEME_TAIL.has(tail4(text, i))) tryAt(text, DB_URL, i);
    // https://hooks.slack.com/services/…: the URL is the credential.
    if (on[SLACK_HOOK] === 1 && i >= 5 && text.startsWith('//hooks.slack.com/services/', i + 1) && text.startsWith('https', i - 5)) tryAt(text, SLACK_HOOK, i - 5);
  } else if (on[IPV6] === 1 && (c === 58 || (c < 128 && (CLASS[c]! & C_HEX) !== 0)) && i >= next[IPV6]!) {
    // A `:hhhh:` pair (at most four hex digits between two colons) starts every address.
    let j = i + 1;
    while (j < n && j - i <= 5 && (cls(text, j) & C_HEX) !== 0) j++;
    if (j - i <= 5 && j < n && text.charCodeAt(j) === 58) next[IPV6] = ipv6At(text, i, outs[IPV6]!);
  }
  assignment(text, i);
}

function atEquals(text: string, i: number): void {
  if (on[AZURE] === 1 && i >= 10 && text.charCodeAt(i - 1) === 121 && text.startsWith('AccountKey', i - 10)) tryAt(text, AZURE, i - 10);
  assignment(text, i);
}

/** E.164: `+` and a digit 1-9, not inside base64 or a word. */
function atPlus(text: string, i: number): void {
  const d = text.charCodeAt(i + 1);
  if (d >= 49 && d <= 57) {
    const b = i > 0 ? text.charCodeAt(i - 1) : 32;
    if ((cls(text, i - 1) & WORD) === 0 && b !== 43 && b !== 47 && b !== 61 && b !== 45) tryAt(text, PHONE, i);
  }
}

/** US `(415) …`. */
function atParen(text: string, i: number): void {
  const d = text.charCodeAt(i + 1);
  if (d >= 50 && d <= 57 && text.charCodeAt(i + 4) === 41) tryAt(text, PHONE, i);
}

export const SINGLE_PASS_SLOTS = SLOTS;
