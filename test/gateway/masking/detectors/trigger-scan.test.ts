import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRIGGER_CHUNK, triggerScanner, type TriggerScanner } from '../../../../gateway/src/masking/detectors/trigger-scan';
import { prng } from '../redact.helpers';

/**
 * The SIMD pre-pass against its specification, written out plainly: an offset is an event when
 * it is one of `+ ( : = @`; the second character (a digit or `.`) of a digit run that starts
 * after none of [a-z0-9_.]; or the second character of one of the pairs below. Every character
 * outside ASCII is in no class.
 */
const PAIRS = new Set([
  'gh', 'gl', '_p', '_k', 'k_', 'm_', 'f_', 'xo', 'AK', 'AI', 'AS', 'yJ', '_`', '_{',
  // BEGIN, sk-, pypi- share one class bit: every first character of it before every second.
  ...[...'BIKbik'].flatMap((a) => [...'%-EM'].map((b) => a + b)),
]);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function expected(text: string): number[] {
  const at = (i: number): number => (i < 0 ? 0 : text.charCodeAt(i));
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    const b = at(i - 1);
    const a = at(i - 2);
    const startsRun = (isDigit(c) || c === 46) && isDigit(b) && !((a >= 97 && a <= 122) || isDigit(a) || a === 95 || a === 46);
    if ('+(:=@'.includes(text[i]!) || startsRun || (i > 0 && PAIRS.has(text[i - 1]! + text[i]!))) out.push(i);
  }
  return out;
}

function scanned(scanner: TriggerScanner, text: string): number[] {
  const out: number[] = [];
  for (let from = 0; from < text.length; from += TRIGGER_CHUNK) {
    const count = scanner.scan(text, from, Math.min(text.length, from + TRIGGER_CHUNK));
    for (let k = 0; k < count; k++) out.push(scanner.events[k]!);
  }
  return out;
}

function expectEvents(scanner: TriggerScanner, text: string): void {
  const got = scanned(scanner, text);
  const want = expected(text);
  if (got.length !== want.length || got.some((g, k) => g !== want[k])) {
    let k = 0;
    while (got[k] === want[k]) k++;
    const p = Math.min(got[k] ?? Infinity, want[k] ?? Infinity);
    throw new Error(`event ${k}: scanned ${got[k]} expected ${want[k]} near ${JSON.stringify(text.slice(p - 4, p + 4))}`);
  }
}

/** Every character the classifier distinguishes, their neighbours in code order, and non-ASCII that narrows onto them. */
const ALPHABET =
  '0123456789./:;=<>?@[\\]^_`{|}~+(),-*\'" \t\n' +
  'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' +
  '\u0000\u007f\u0080\u00e9\u00ff\u0100\u0130\u0131\u0161\u017f\u0130\u0161\u023a\u0240\u4e2d\u7fff\u8000\uff10\uff1a\ud800\udc00\ufeff';

function randomText(rand: () => number, length: number, alphabet: string): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

describe('trigger scan (WebAssembly SIMD pre-pass)', () => {
  const scanner = triggerScanner!;

  it('is available on this runtime', () => {
    expect(triggerScanner).toBeDefined();
  });

  it('reports exactly the specified events on random text over every class boundary', () => {
    const rand = prng(5);
    for (let k = 0; k < 40; k++) expectEvents(scanner, randomText(rand, 1 + Math.floor(rand() * 40_000), ALPHABET));
  });

  it('reports exactly the specified events on trigger-dense text (pairs, digit runs, separators)', () => {
    const rand = prng(6);
    for (let k = 0; k < 40; k++) expectEvents(scanner, randomText(rand, 1 + Math.floor(rand() * 20_000), 'ghlpk_BExoAKSyJe`{0123.a:=@+( Zmf-iIM%'));
  });

  it('reports events of the masking corpus, and at every offset near chunk boundaries', () => {
    const corpus = readFileSync(join(process.cwd(), 'test/fixtures/masking/corpus.jsonl'), 'utf8');
    expectEvents(scanner, corpus);
    // A pair or run split by a chunk boundary is reported in the chunk of its second character.
    for (let shift = 0; shift < 20; shift++) {
      expectEvents(scanner, 'x'.repeat(TRIGGER_CHUNK - shift) + ' 12.34 AKIA ghp_ eyJ k_ 5');
    }
  });

  it('reports nothing in text without triggers, and handles the empty tail of a short text', () => {
    expect(scanned(scanner, 'plain words only, no triggers here')).toEqual([]);
    expect(scanned(scanner, '@')).toEqual([0]);
    expect(scanned(scanner, '12')).toEqual([1]);
  });

  it('refuses a range it cannot scan', () => {
    expect(() => scanner.scan('abc', 0, 4)).toThrow(RangeError);
    expect(() => scanner.scan('x'.repeat(TRIGGER_CHUNK + 1), 0, TRIGGER_CHUNK + 1)).toThrow(RangeError);
  });
});
