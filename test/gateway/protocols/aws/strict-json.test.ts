import { MAX_JSON_DEPTH, parseStrictJson, StrictJsonError } from '../../../../gateway/src/protocols/aws/strict-json';

const parse = (text: string | Uint8Array) => parseStrictJson(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

describe('strict JSON: only documents every parser reads alike', () => {
  it('reads what JSON.parse reads, for documents without repeated members', () => {
    const docs = [
      '{}',
      '[]',
      ' {"a" : [1, -2.5e+3, 0, true, false, null, "x"], "b": {"c": "\\u00e9\\n\\"\\\\\\/"}} ',
      '"\\ud83d\\ude00 emoji"',
      '{"TableName":"notes","Item":{"pk":{"S":"ü€"},"n":{"N":"12345678901234567890"}}}',
      '{"__proto__":{"polluted":true},"constructor":1}',
      '-0.5',
    ];
    for (const d of docs) expect([d, JSON.stringify(parse(d))]).toEqual([d, JSON.stringify(JSON.parse(d))]);
    expect(Object.getPrototypeOf(parse('{"__proto__":{"polluted":true}}'))).toBeNull();
  });

  it('refuses repeated members (exactly, or ignoring case) at any depth, naming where', () => {
    for (const d of ['{"a":1,"a":2}', '{"TableName":"x","tablename":"y"}', '[{"k":{"b":1,"B":2}}]', '{"\\u0061":1,"a":2}']) {
      expect(() => parse(d)).toThrow(StrictJsonError);
    }
    expect(() => parse('{"x":{"a":1,"a":2}}')).toThrow(/member "a" is given twice .* at position 12/);
  });

  it('refuses what JSON.parse refuses, plus a byte-order mark, bad UTF-8 and nesting past the bound', () => {
    for (const d of ['', '{', '{"a":1,}', '[1,]', '01', '1.', '.5', '+1', 'NaN', "{'a':1}", '{"a":1} x', '"\t"', '"\\x41"', '"\\u12"', '\ufeff{}']) {
      expect(() => parse(d)).toThrow(StrictJsonError);
    }
    expect(() => parse(Buffer.from([0x22, 0xc3, 0x28, 0x22]))).toThrow(/not valid UTF-8/);
    expect(() => parse(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toThrow(/not valid UTF-8/);
    expect(() => parse('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1))).toThrow(/nested too deep/);
    expect(parse('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).toBeDefined();
  });
});
