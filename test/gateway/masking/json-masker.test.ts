import type { Detector } from '../../../gateway/src/masking/detector';
import { compileJsonPath, createJsonMasker, maskJson } from '../../../gateway/src/masking/json-masker';
import { createReplacement } from '../../../gateway/src/masking/replacement';
import { isGatehouseError } from '../../../gateway/src/errors';
import { secretDetector, testDetectors } from './redact.helpers';

const tag = createReplacement({ kind: 'type_tag' });
const base = { detectors: testDetectors, replacement: tag };

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
