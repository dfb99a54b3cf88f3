import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Detection, Detector } from '../../../gateway/src/masking/detector';
import { builtInDetectors, PII_DETECTORS, SECRET_DETECTORS } from '../../../gateway/src/masking/detectors/index';
import { useTriggerScan } from '../../../gateway/src/masking/detectors/single-pass';
import { TRIGGER_CHUNK } from '../../../gateway/src/masking/detectors/trigger-scan';
import { findDetections } from '../../../gateway/src/masking/redact';
import { prng, secretDetector } from './redact.helpers';

/**
 * Differential test of the single pass (detectors/single-pass.ts) against the reference: each
 * built-in detector's own `find`, one regex scan per rule. findDetections must return exactly
 * the same detections, in the same order, for any text and any selection of rules.
 */

// Both corpora: the held-out one brings the LLM-provider and platform keys, escaped pairs and near-misses.
const corpus: string[] = ['corpus.jsonl', 'heldout.jsonl'].flatMap((file) =>
  readFileSync(join(process.cwd(), 'test/fixtures/masking', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => (JSON.parse(l) as { text: string }).text),
);

function reference(text: string, detectors: readonly Detector[]): Detection[] {
  return detectors.flatMap((d) => d.find(text));
}

function expectSame(text: string, detectors: readonly Detector[]): void {
  const fast = findDetections(text, detectors);
  const slow = reference(text, detectors);
  if (JSON.stringify(fast) !== JSON.stringify(slow)) {
    // Narrow the report to the first differing detection, with a little of the text around it.
    const n = Math.min(fast.length, slow.length);
    let k = 0;
    while (k < n && JSON.stringify(fast[k]) === JSON.stringify(slow[k])) k++;
    const d = fast[k] ?? slow[k]!;
    throw new Error(
      `single pass differs at detection ${k}: fast=${JSON.stringify(fast[k])} reference=${JSON.stringify(slow[k])} ` +
        `near ${JSON.stringify(text.slice(Math.max(0, d.start - 40), d.end + 40))}`,
    );
  }
  expect(fast).toEqual(slow);
}

/** Text rich in the characters that trigger rules and in near misses of every rule. */
function adversarial(rand: () => number, length: number): string {
  const pieces = [
    'AKIA', 'ASIA', 'ghp_', 'gho_', 'github_pat_', 'glpat-', 'xoxb-', 'xoxp-', 'sk_live_', 'rk_test_', '-----BEGIN ',
    'PRIVATE KEY-----', '-----END RSA PRIVATE KEY-----', 'eyJ', 'AccountKey=', '"private_key": "', 'password', 'Passwd',
    'api_key', 'client-secret', 'aws_secret_access_key', 'SecretAccessKey', 'secret_key', 'refresh_token', ' = ', ':', '=',
    ':=', '=>', '"', "'", ' ', '  ', '\n', '\t', '\u00a0', '@', 'example.com', '.', '-', '+', '(', ')', '/', '//', '://',
    'postgres://', 'mysql://u:', '@db', '::', ':db8:', 'fe80::1', '10.0.0.', '192.168.1.1', '4111', '1111', ' ', '0',
    '06 12', ' 34', '415-555-', '(415) ', '+1 ', '+44 20 ', '123-45-', '6789', 'DE89', '3704', '0044', 'GB82', 'WEST',
    '_', 'A', 'K', 'S', 'J', 'e', 'y', 'Z', 'x', 'é', '\ud83d\ude00', '\\n', '\\u0040', 'null', '${X}',
  ];
  const alpha = 'abcdefABCDEF0123456789:=@._-+/ "\'';
  let s = '';
  while (s.length < length) {
    if (rand() < 0.6) s += pieces[Math.floor(rand() * pieces.length)];
    else {
      const n = 1 + Math.floor(rand() * 12);
      for (let i = 0; i < n; i++) s += alpha[Math.floor(rand() * alpha.length)];
    }
  }
  return s;
}

/** A JSON API response / log / .env mix, as in the benchmark, with secrets from the corpus spliced in. */
function document(rand: () => number, records: number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(rand() * 16)]).join('');
  const out: string[] = [];
  for (let i = 0; i < records; i++) {
    const r: Record<string, unknown> = {
      id: Math.floor(rand() * 1e9),
      sha: hex(40),
      request_id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
      created_at: `2025-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)}T12:${10 + Math.floor(rand() * 49)}:05Z`,
      url: `https://api.example.com/v1/items/${i}?page=${i % 7}`,
      body: `${pick(corpus)}\n${pick(corpus)}`,
    };
    out.push(rand() < 0.5 ? JSON.stringify(r) : `${r.created_at} INFO ${pick(corpus)} id=${r.id} sha=${r.sha}`);
  }
  return out.join(rand() < 0.5 ? ',\n' : '\n');
}

// Each engine that finds the triggers: the SIMD pre-pass on every text, and the indexOf passes.
describe.each(['always', 'never'] as const)('single-pass built-in detection, trigger scan %s (differential against each rule\'s own scan)', (mode) => {
  const all = builtInDetectors();
  beforeAll(() => {
    // The pre-pass must be there on Node 20 and later; without it `always` would test nothing new.
    expect(useTriggerScan(mode)).toBe(true);
  });
  afterAll(() => useTriggerScan('auto'));

  it('finds exactly what the per-rule scans find on every corpus line', () => {
    for (const text of corpus) expectSame(text, all);
  });

  it('finds exactly the same on the whole corpus as one text', () => {
    expectSame(corpus.join('\n'), all);
    expectSame(corpus.join(' '), all);
    expectSame(corpus.join(''), all);
  });

  it('finds exactly the same on generated documents', () => {
    const rand = prng(20251125);
    for (let k = 0; k < 20; k++) expectSame(document(rand, 50), all);
  });

  it('finds exactly the same on adversarial text dense in trigger characters and near misses', () => {
    const rand = prng(42);
    for (let k = 0; k < 300; k++) expectSame(adversarial(rand, 200 + Math.floor(rand() * 2000)), all);
  });

  it('finds exactly the same with each rule alone and with random selections (and custom rules mixed in)', () => {
    const rand = prng(7);
    const texts = [corpus.join('\n'), adversarial(rand, 20_000), document(rand, 100)];
    for (const d of [...SECRET_DETECTORS, ...PII_DETECTORS]) for (const t of texts) expectSame(t, [d]);
    for (let k = 0; k < 30; k++) {
      const pickd = all.filter(() => rand() < 0.4);
      if (rand() < 0.5) pickd.splice(Math.floor(rand() * (pickd.length + 1)), 0, secretDetector);
      for (const t of texts) expectSame(t, pickd);
    }
  });

  it('finds exactly the same when matches straddle the pre-pass chunks', () => {
    const rand = prng(99);
    const samples = corpus.filter((t) => t.length < 200);
    for (let k = 0; k < 60; k++) {
      // Ends a random corpus line (or trigger-dense text) just around a chunk boundary.
      const tail = rand() < 0.5 ? samples[Math.floor(rand() * samples.length)]! : adversarial(rand, 120);
      const at = TRIGGER_CHUNK * (1 + Math.floor(rand() * 2)) - Math.floor(rand() * tail.length);
      const filler = adversarial(rand, at).slice(0, at);
      expectSame(filler + tail + adversarial(rand, 300), all);
    }
  });

  it('a wrapper that changes a built-in rule (another id or maxLength) is scanned by its own find', () => {
    const email = all.find((d) => d.id === 'email')!;
    const wrapped: Detector = { ...email, id: 'my-email', find: email.find };
    const text = 'mail alice@example.com now';
    expect(findDetections(text, [wrapped])).toEqual(email.find(text));
  });
});
