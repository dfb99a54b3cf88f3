import type { Detector } from '../../../gateway/src/masking/detector';
import { compileJsonPath, createJsonMasker, maskJson, useJsonScan } from '../../../gateway/src/masking/json-masker';
import { createReplacement } from '../../../gateway/src/masking/replacement';
import { isGatehouseError } from '../../../gateway/src/errors';
import { builtInDetectors } from '../../../gateway/src/masking/detectors/index';
import { secretDetector, testDetectors } from './redact.helpers';

const tag = createReplacement({ kind: 'type_tag' });
const base = { detectors: testDetectors, replacement: tag };

// Both structure walks: WebAssembly on every body, and JavaScript.
describe.each(['always', 'never'] as const)('JSON structure walk %s', (mode) => {
  beforeAll(() => {
    expect(useJsonScan(mode)).toBe(true);
  });
  afterAll(() => useJsonScan('auto'));

  describe('maskJson by value', () => {
    it('masks detections inside every string value and key, keeping structure and non-string types', () => {
      const body = JSON.stringify({
        user: { email: 'alice@example.com', age: 42, admin: false, note: null },
        items: [{ token: 'Bearer SECRET-12345678', n: 1.5 }, 'plain'],
        'bob@example.com': true,
      });
      const r = maskJson(body, base);
      expect(r.json).toBe(true);
      expect(JSON.parse(r.text)).toEqual({
        user: { email: '[EMAIL]', age: 42, admin: false, note: null },
        items: [{ token: 'Bearer [SECRET_TOKEN]', n: 1.5 }, 'plain'],
        '[EMAIL]': true,
      });
      expect(r.counts).toEqual({ email: 2, secret_token: 1 });
    });

    it('detects a secret written with JSON escapes (the decoded value is scanned)', () => {
      const r = maskJson('{"t":"SECRET-\\u00312345678"}', { detectors: [secretDetector], replacement: tag });
      expect(JSON.parse(r.text)).toEqual({ t: '[SECRET_TOKEN]' });
    });

    it('masks escaped strings across many scan batches, and falls back whole when the end is not JSON', () => {
      // Decoded strings are scanned in batches of about 64 K characters: 3 000 strings of ~100 make
      // several batches, and each holds a secret that only the decoded text shows.
      const items = Array.from({ length: 3000 }, (_, i) => `line ${i}\n${'x'.repeat(80)} SECRET-1${String(i).padStart(7, '0')}`);
      const body = JSON.stringify(items).replaceAll('SECRET-1', 'SECRET-\\u0031');
      expect(body).not.toContain('SECRET-1');
      const r = maskJson(body, { detectors: [secretDetector], replacement: tag });
      expect(r.json).toBe(true);
      expect(r.counts).toEqual({ secret_token: 3000 });
      expect(JSON.parse(r.text)).toEqual(items.map((s) => `${s.slice(0, s.indexOf('SECRET-'))}[SECRET_TOKEN]`));
      // A broken end discards what the batches found and redacts the whole body as text.
      const broken = maskJson(`${body.slice(0, -1)},`, { detectors: [secretDetector], replacement: tag });
      expect(broken.json).toBe(false);
    });

    it('falls back to text redaction for invalid JSON', () => {
      const r = maskJson('{"broken": "SECRET-12345678"', base);
      expect(r).toEqual({ text: '{"broken": "[SECRET_TOKEN]"', counts: { secret_token: 1 }, json: false });
    });

    it('keeps a __proto__ key as data', () => {
      const r = maskJson('{"__proto__":{"x":"SECRET-12345678"}}', base);
      expect(r.text).toBe('{"__proto__":{"x":"[SECRET_TOKEN]"}}');
    });

    it('fails closed when a detector throws', () => {
      const broken: Detector = { ...secretDetector, find: () => { throw new Error('x'); } };
      expect(() => maskJson('{"a":"b"}', { detectors: [broken], replacement: tag })).toThrow(
        expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }),
      );
    });
  });

  describe('maskJson by value on the raw text', () => {
    it('keeps the layout of the body and changes only masked values', () => {
      const body = '{\n  "a": "SECRET-12345678",\n  "b": [1, 2.5e3, true, null]\n}';
      const r = maskJson(body, base);
      expect(r.text).toBe('{\n  "a": "[SECRET_TOKEN]",\n  "b": [1, 2.5e3, true, null]\n}');
      expect(r.json).toBe(true);
    });

    it('sees the key as context: "password": "..." is masked by the built-in assignment rule', () => {
      const r = maskJson('{"user":"x","password":"hunter2-Xyz"}', { detectors: builtInDetectors(), replacement: tag });
      expect(JSON.parse(r.text)).toEqual({ user: 'x', password: '[GENERIC_SECRET]' });
    });

    it('masks a detection inside a number by replacing the number with a string', () => {
      const r = maskJson('{"card":4111111111111111,"n":12}', { detectors: builtInDetectors(), replacement: tag });
      expect(JSON.parse(r.text)).toEqual({ card: '[PAYMENT_CARD]', n: 12 });
      expect(r.counts).toEqual({ payment_card: 1 });
    });

    it('in a string with escapes, masks both what the decoded value shows and what the raw text shows', () => {
      const body = '{"t":"line\\nSECRET-\\u00312345678 and SECRET-87654321 \\"q\\" carol@example.org"}';
      const r = maskJson(body, base);
      expect(JSON.parse(r.text)).toEqual({ t: 'line\n[SECRET_TOKEN] and [SECRET_TOKEN] "q" [EMAIL]' });
      expect(r.counts).toEqual({ secret_token: 2, email: 1 });
    });

    it('a raw match that began on the letter of an escape (the n of \\n) does not swallow the escaped character', () => {
      // Raw, `\nalice@…` reads as the email `nalice@…`; decoded, the line break comes first. The
      // break stays, the email is masked, and nothing of it is left.
      const body = JSON.stringify({ t: 'line one\nalice.smith@example.com\nline three' });
      const r = maskJson(body, { detectors: builtInDetectors(), replacement: tag });
      expect(JSON.parse(r.text)).toEqual({ t: 'line one\n[EMAIL]\nline three' });
      expect(r.counts).toEqual({ email: 1 });
    });

    it('JSON held in a string (OpenAI tool-call arguments) is masked as JSON, so its own escapes are decoded', () => {
      const args = JSON.stringify({ path: '.env', content: 'REGION=eu\nAKIAIOSFODNN7EXAMPLE\nada@example.com' });
      // `arguments` is a string of JSON: a key after its escaped newline is two escape levels deep.
      const body = JSON.stringify({ choices: [{ message: { tool_calls: [{ function: { name: 'write_file', arguments: args } }] } }] });
      const r = maskJson(body, { detectors: builtInDetectors(), replacement: tag });
      const masked = JSON.parse(r.text) as { choices: { message: { tool_calls: { function: { arguments: string } }[] } }[] };
      expect(JSON.parse(masked.choices[0]!.message.tool_calls[0]!.function.arguments)).toEqual({ path: '.env', content: 'REGION=eu\n[AWS_ACCESS_KEY_ID]\n[EMAIL]' });
      expect(r.counts).toEqual({ aws_access_key_id: 1, email: 1 });
      // A string that only looks like JSON is scanned as text.
      const fake = maskJson(JSON.stringify({ t: '{not json, ada@example.com}' }), { detectors: builtInDetectors(), replacement: tag });
      expect(JSON.parse(fake.text)).toEqual({ t: '{not json, [EMAIL]}' });
    });

    it('keeps the JSON valid when the replacement text holds quotes or backslashes', () => {
      const r = maskJson('["SECRET-12345678"]', { detectors: testDetectors, replacement: createReplacement({ kind: 'mask', text: 'a"b\\c' }) });
      expect(JSON.parse(r.text)).toEqual(['a"b\\c']);
    });

    it('treats plain text, empty bodies and unbalanced brackets as text', () => {
      for (const body of ['true fans are real SECRET-12345678', '', '   ', '[1, 2', '{"a": 1}}', 'null nope']) {
        expect({ body, json: maskJson(body, base).json }).toEqual({ body, json: false });
      }
      for (const body of ['{}', '[]', '"SECRET-12345678"', 'null', ' 42 ']) {
        expect({ body, json: maskJson(body, base).json }).toEqual({ body, json: true });
      }
      expect(maskJson('"SECRET-12345678"', base).text).toBe('"[SECRET_TOKEN]"');
    });
  });
});

describe('maskJson by path', () => {
  const doc = {
    user: { email: 'not-an-email', name: 'Alice', pin: 1234, profile: { password: 'hunter2', nested: [1, 'two', null] } },
    items: [{ token: 'abc', id: 1 }, { token: 'def', id: 2 }],
    config: { password: 'pw', db: { password: 'pw2' } },
  };
  const body = JSON.stringify(doc);

  it('$.user.email masks exactly that value', () => {
    const r = maskJson(body, { ...base, paths: [{ path: '$.user.email', type: 'email' }] });
    const out = JSON.parse(r.text);
    expect(out.user.email).toBe('[EMAIL]');
    expect(out.user.name).toBe('Alice');
    expect(r.counts).toEqual({ email: 1 });
  });

  it('$.items[*].token masks the field in every element', () => {
    const out = JSON.parse(maskJson(body, { ...base, paths: ['$.items[*].token'] }).text);
    expect(out.items).toEqual([{ token: '[JSON_PATH]', id: 1 }, { token: '[JSON_PATH]', id: 2 }]);
  });

  it('$..password masks the key at any depth', () => {
    const r = maskJson(body, { ...base, paths: [{ path: '$..password', type: 'password' }] });
    const out = JSON.parse(r.text);
    expect(out.user.profile.password).toBe('[PASSWORD]');
    expect(out.config.password).toBe('[PASSWORD]');
    expect(out.config.db.password).toBe('[PASSWORD]');
    expect(r.counts).toEqual({ password: 3 });
  });

  it('a matched number is masked; a matched object keeps its shape with scalars masked and null kept', () => {
    const out = JSON.parse(maskJson(body, { ...base, paths: ['$.user.pin', '$.user.profile'] }).text);
    expect(out.user.pin).toBe('[JSON_PATH]');
    expect(out.user.profile).toEqual({ password: '[JSON_PATH]', nested: ['[JSON_PATH]', '[JSON_PATH]', null] });
  });

  it('index and quoted-name brackets select precisely', () => {
    const out = JSON.parse(maskJson(body, { ...base, paths: ["$['items'][1].token"] }).text);
    expect(out.items).toEqual([{ token: 'abc', id: 1 }, { token: '[JSON_PATH]', id: 2 }]);
  });

  it('paths that match nothing change nothing', () => {
    const r = maskJson(body, { ...base, paths: ['$.nope', '$.items[5].token'] });
    expect(JSON.parse(r.text)).toEqual(doc);
    expect(r.counts).toEqual({});
  });

  it('invalid paths are refused at start-up with GH_ERR_CONFIG_INVALID', () => {
    for (const p of ['user.email', '$.', '$..', '$[abc]', '$.a b']) {
      let error: unknown;
      try {
        createJsonMasker({ ...base, paths: [p] });
      } catch (e) {
        error = e;
      }
      expect({ p, ok: isGatehouseError(error, 'GH_ERR_CONFIG_INVALID') }).toEqual({ p, ok: true });
    }
    expect(compileJsonPath('$..*')).toEqual([{ kind: 'deep' }, { kind: 'any' }]);
  });
});

/** Issue 15: JSON inside JSON strings, on both routes, never half masked and never counted for what stayed in clear. */
describe('JSON inside JSON strings (built-in detectors)', () => {
  const detectors = builtInDetectors();
  const byValue = createJsonMasker({ detectors, replacement: tag });
  const byPath = createJsonMasker({ detectors, replacement: tag, paths: ['$.unrelated'] });
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

  it.each([
    ['by value', byValue],
    ['by path', byPath],
  ])('a secret whose value is itself JSON is masked whole, %s', (_route, mask) => {
    const body = JSON.stringify({ service: 'billing', password: JSON.stringify({ note: 'rotate Qx81kz', owner: 'ada@example.com' }) });
    const r = mask(body);
    expect(JSON.parse(r.text)).toEqual({ service: 'billing', password: '[GENERIC_SECRET]' });
    expect(r.counts).toEqual({ generic_secret: 1 });
  });

  it.each([
    ['by value', byValue],
    ['by path', byPath],
  ])('a value three levels down, written with \\u escapes, is masked and counted once, %s', (_route, mask) => {
    const inner = JSON.stringify({ contact: 'ada.lovelace@example.com' }).replace('@', '\\u0040');
    const body = JSON.stringify({ event: 'webhook', body: JSON.stringify({ payload: JSON.stringify({ wrapped: inner }) }) });
    const r = mask(body);
    expect(r.text).not.toContain('lovelace');
    expect(total(r.counts)).toBe(1);
    expect(r.text.split('[EMAIL]').length - 1).toBe(1);
  });

  it('with JSON paths, a member is still masked with its key as context (values with &, quotes, backslashes)', () => {
    for (const value of ['Tr0ub4dor&3', 'ab"cd-ef', 'C:\\keys\\one']) {
      const r = byPath(JSON.stringify({ user: 'svc', password: value, port: 5432 }));
      expect(JSON.parse(r.text)).toEqual({ user: 'svc', password: '[GENERIC_SECRET]', port: 5432 });
      expect(r.counts).toEqual({ generic_secret: 1 });
    }
  });

  it('tool-call arguments keep their structure, each value masked and counted', () => {
    const args = JSON.stringify({ to: 'grace@example.org', token: `npm_${'a1B2c3D4e5F6'.repeat(3)}`, note: 'weekly' });
    for (const mask of [byValue, byPath]) {
      const r = mask(JSON.stringify({ function: { name: 'send', arguments: args } }));
      expect(JSON.parse(JSON.parse(r.text).function.arguments)).toEqual({ to: '[EMAIL]', token: '[NPM_TOKEN]', note: 'weekly' });
      expect(r.counts).toEqual({ email: 1, npm_token: 1 });
    }
  });
});
