import { builtInDetectors } from '../../../gateway/src/masking/detectors/index';
import { createJsonMasker, useJsonScan, type JsonMaskResult } from '../../../gateway/src/masking/json-masker';
import { JSON_SCAN_CHUNK, jsonScanner, type JsonScanner } from '../../../gateway/src/masking/json-scan';
import { createReplacement } from '../../../gateway/src/masking/replacement';
import { prng } from './redact.helpers';

/** All strings of a text as [open, close, hasBackslash], or 'not JSON'. */
function walk(scanner: JsonScanner, text: string): [number, number, boolean][] | 'not JSON' {
  const out: [number, number, boolean][] = [];
  scanner.reset();
  for (let from = 0; from < text.length; from += JSON_SCAN_CHUNK) {
    const count = scanner.walk(text, from, Math.min(text.length, from + JSON_SCAN_CHUNK));
    if (count < 0) return 'not JSON';
    for (let k = 0; k < count; k++) {
      const end = scanner.strings[2 * k + 1]!;
      out.push([scanner.strings[2 * k]!, end & 0x7fffffff, end < 0]);
    }
  }
  return scanner.finish() ? out : 'not JSON';
}

describe('JSON scan (the structure walk in WebAssembly)', () => {
  const scanner = jsonScanner!;

  it('is available on this runtime', () => {
    expect(jsonScanner).toBeDefined();
  });

  it('reports every string with its quotes and whether it holds a backslash', () => {
    const text = '{"a": "x\\"y", "b": [true, false, null, -1.5e3], "\\\\": ""}';
    expect(walk(scanner, text)).toEqual([
      [1, 3, false],
      [6, 11, true],
      [14, 16, false],
      [48, 51, true],
      [54, 55, false],
    ]);
  });

  it('refuses what is not JSON structure: a stray character, a broken literal, a bracket closed too often, an open string or bracket, nothing', () => {
    for (const text of ['{"a": x}', '[tru]', '[falsy]', '[nulL]', '[truE]', '[nul', '{"a": fals}', '{}}', '["open', '["a"', '[1, 2', '', '  \n ', '"\\"']) {
      expect({ text, r: walk(scanner, text) }).toEqual({ text, r: 'not JSON' });
    }
    for (const text of ['{}', '[]', '""', 'null', ' 42 ', 'true', '"\\\\"']) {
      expect({ text, ok: walk(scanner, text) !== 'not JSON' }).toEqual({ text, ok: true });
    }
  });

  it('carries a string, an escape or a literal across chunks', () => {
    for (let shift = -8; shift <= 8; shift++) {
      const pad = ' '.repeat(JSON_SCAN_CHUNK - 10 + shift);
      for (const tail of ['["ab\\"cd", false, null, true, "x"]', '["\\\\", "\\u0041"]', '[12345.678e+9]']) {
        const text = pad + tail;
        const want = walk(scanner, tail);
        expect(want).not.toBe('not JSON');
        const got = walk(scanner, text);
        expect(got).toEqual((want as [number, number, boolean][]).map(([a, b, e]) => [a + pad.length, b + pad.length, e]));
      }
      expect(walk(scanner, `${' '.repeat(JSON_SCAN_CHUNK - 2 + shift)}[fals]`)).toBe('not JSON');
    }
  });
});

/** JSON with escapes, non-ASCII, JSON in strings, numbers and literals, and values the rules find. */
function jsonDocument(rand: () => number, records: number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const values = [
    'alice@example.com', 'AKIAIOSFODNN7EXAMPLE', '4111 1111 1111 1111', '+44 20 7946 0958', 'line\nbreak "quoted" \\ back',
    'caf\u00e9 \u4e2d\u6587 \ud83d\ude00', 'password=hunter2hunter2', '192.168.10.20', 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8', '',
    JSON.stringify({ token: 'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc', n: 1 }), 'plain words', '2025-03-12T10:20:30Z',
  ];
  const out: unknown[] = [];
  for (let i = 0; i < records; i++) {
    out.push({
      id: Math.floor(rand() * 1e12),
      card: rand() < 0.2 ? 4111111111111111 : rand() * 1000,
      ok: rand() < 0.5,
      none: null,
      text: pick(values),
      list: [pick(values), Math.floor(rand() * 100), [pick(values)]],
      nested: { 'key with "quote"': pick(values), email: pick(values) },
    });
  }
  return JSON.stringify(out, null, rand() < 0.5 ? 2 : undefined);
}

/** A small random edit: most leave the text not JSON, some move a quote or a bracket. */
function mutate(rand: () => number, text: string): string {
  const at = Math.floor(rand() * text.length);
  const c = '"\\{}[],: x1tfn\u00e9'[Math.floor(rand() * 15)]!;
  return rand() < 0.5 ? text.slice(0, at) + c + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
}

describe('the JSON masker gives the same result with either structure walk', () => {
  const masker = createJsonMasker({ detectors: builtInDetectors(), replacement: createReplacement({ kind: 'type_tag' }) });
  function both(body: string): [JsonMaskResult, JsonMaskResult] {
    try {
      useJsonScan('always');
      const wasm = masker(body);
      useJsonScan('never');
      return [wasm, masker(body)];
    } finally {
      useJsonScan('auto');
    }
  }

  it('on generated documents across chunks, compact and indented', () => {
    const rand = prng(11);
    for (let k = 0; k < 12; k++) {
      const [wasm, js] = both(jsonDocument(rand, 20 + Math.floor(rand() * 300)));
      expect(wasm.json).toBe(true);
      expect(wasm).toEqual(js);
    }
  });

  it('on damaged documents (either both call it JSON and mask it alike, or both fall back to text)', () => {
    const rand = prng(12);
    for (let k = 0; k < 150; k++) {
      let body = jsonDocument(rand, 1 + Math.floor(rand() * 120));
      for (let m = 0; m < 1 + Math.floor(rand() * 3); m++) body = mutate(rand, body);
      const [wasm, js] = both(body);
      expect(wasm).toEqual(js);
    }
  });
});
