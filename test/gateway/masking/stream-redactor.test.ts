import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Detector } from '../../../gateway/src/masking/detector';
import { redactText } from '../../../gateway/src/masking/redact';
import { createReplacement } from '../../../gateway/src/masking/replacement';
import { createRedactingTransform, createStreamRedactor } from '../../../gateway/src/masking/stream-redactor';
import { isGatehouseError } from '../../../gateway/src/errors';
import { builtInDetectors } from '../../../gateway/src/masking/detectors/index';
import { customRegexDetector } from '../../../gateway/src/masking/custom';
import { MAX_CARRY } from '../../../gateway/src/masking/stream-redactor';
import { emailDetector, prng, regexDetector, secretDetector, testDetectors } from './redact.helpers';

const tag = createReplacement({ kind: 'type_tag' });
const options = { detectors: testDetectors, replacement: tag };

const INPUTS = [
  'SECRET-12345678',
  'a SECRET-12345678 b alice@example.com c',
  'SECRET-1234567SECRET-87654321 x.y@z-q.org,SECRET-00000000',
  '{"token":"SECRET-99999999","to":"bob.smith@mail.example","n":1}\ndata: SECRET-1234 partial only',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bbbb.cc SECRET-SECRET-12345678@host.io',
];

function runChunks(chunks: string[]) {
  const r = createStreamRedactor(options);
  let out = '';
  for (const c of chunks) out += r.push(c);
  out += r.end();
  return { text: out, counts: r.counts };
}

describe('createStreamRedactor', () => {
  it('masks a secret split across two chunks', () => {
    const r = createStreamRedactor(options);
    const first = r.push('before SECRET-1234');
    expect(first).not.toContain('SECRET-1234');
    const rest = r.push('5678 after') + r.end();
    expect(first + rest).toBe('before [SECRET_TOKEN] after');
    expect(r.counts).toEqual({ secret_token: 1 });
  });

  it('masks a secret delivered one character per chunk', () => {
    const whole = 'x SECRET-12345678 y';
    expect(runChunks([...whole]).text).toBe('x [SECRET_TOKEN] y');
  });

  it('equals redactText(whole) for every split point of each input', () => {
    for (const input of INPUTS) {
      const expected = redactText(input, testDetectors, tag);
      for (let i = 0; i <= input.length; i++) {
        const got = runChunks([input.slice(0, i), input.slice(i)]);
        expect({ input, i, text: got.text }).toEqual({ input, i, text: expected.text });
        expect(got.counts).toEqual(expected.counts);
      }
    }
  });

  it('equals redactText(whole) for random multi-chunk splits', () => {
    const rand = prng(42);
    for (const input of INPUTS) {
      const expected = redactText(input, testDetectors, tag);
      for (let trial = 0; trial < 200; trial++) {
        const chunks: string[] = [];
        let pos = 0;
        while (pos < input.length) {
          const n = Math.floor(rand() * 12);
          chunks.push(input.slice(pos, pos + n));
          pos += n;
        }
        const got = runChunks(chunks);
        expect({ input, chunks, text: got.text }).toEqual({ input, chunks, text: expected.text });
        expect(got.counts).toEqual(expected.counts);
      }
    }
  });

  it('releases text as it goes: holds back no more than max(maxLength)-1 characters when nothing matches', () => {
    const r = createStreamRedactor(options);
    const out = r.push('z'.repeat(1000));
    expect(out.length).toBe(1000 - (emailDetector.maxLength - 1));
    expect(r.end()).toBe('z'.repeat(emailDetector.maxLength - 1));
  });

  it('with no detectors passes text through immediately', () => {
    const r = createStreamRedactor({ detectors: [], replacement: tag });
    expect(r.push('abc')).toBe('abc');
    expect(r.end()).toBe('');
  });

  it('fails closed: a throwing detector errors the stream and every later call, releasing nothing unredacted', () => {
    let calls = 0;
    const flaky: Detector = {
      ...secretDetector,
      id: 'flaky',
      find: (text) => {
        calls += 1;
        if (calls === 2) throw new Error('detector crashed');
        return secretDetector.find(text);
      },
    };
    const r = createStreamRedactor({ detectors: [flaky], replacement: tag });
    expect(r.push('ok ')).toBe('');
    let error: unknown;
    try {
      r.push('SECRET-12345678 and more');
    } catch (e) {
      error = e;
    }
    expect(isGatehouseError(error, 'GH_ERR_MASKING_FAILED')).toBe(true);
    expect(() => r.push('more')).toThrow();
    expect(() => r.end()).toThrow();
  });

  it('refuses a detector without a finite positive maxLength', () => {
    const bad: Detector = { ...secretDetector, maxLength: Number.POSITIVE_INFINITY };
    let error: unknown;
    try {
      createStreamRedactor({ detectors: [bad], replacement: tag });
    } catch (e) {
      error = e;
    }
    expect(isGatehouseError(error, 'GH_ERR_CONFIG_INVALID')).toBe(true);
  });

  it('refuses use after end', () => {
    const r = createStreamRedactor(options);
    r.end();
    expect(() => r.push('x')).toThrow();
  });
});

async function collect(chunks: Buffer[], detectors: readonly Detector[] = testDetectors) {
  const out: Buffer[] = [];
  const t = createRedactingTransform({ detectors, replacement: tag });
  await pipeline(
    Readable.from(chunks),
    t,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return { text: Buffer.concat(out).toString('utf8'), counts: t.counts, chunks: out };
}

describe('RedactingTransform', () => {
  it('masks a secret split across byte chunks and keeps multi-byte characters intact when split mid-character', async () => {
    const whole = Buffer.from('héllo 😀 SECRET-12345678 ünïcode 😀 alice@example.com 漢字', 'utf8');
    const expected = redactText(whole.toString('utf8'), testDetectors, tag);
    for (let i = 1; i < whole.length; i++) {
      const got = await collect([whole.subarray(0, i), whole.subarray(i)]);
      expect(got.text).toBe(expected.text);
      expect(got.counts).toEqual(expected.counts);
      // Each emitted chunk is valid UTF-8 on its own (no surrogate half became U+FFFD).
      for (const c of got.chunks) expect(c.toString('utf8')).not.toContain('\uFFFD');
    }
  });

  it('masks across many small SSE-like chunks', async () => {
    const whole = 'data: {"delta":"SECRET-12345678"}\n\ndata: {"delta":"mail carol@example.org"}\n\n';
    const bytes = Buffer.from(whole);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.subarray(i, i + 3));
    const got = await collect(chunks);
    expect(got.text).toBe('data: {"delta":"[SECRET_TOKEN]"}\n\ndata: {"delta":"mail [EMAIL]"}\n\n');
  });

  it('fails closed: a throwing detector errors the pipeline and the secret never reaches the consumer', async () => {
    const broken: Detector = { ...secretDetector, id: 'broken', find: () => { throw new Error('crash'); } };
    const out: Buffer[] = [];
    const t = createRedactingTransform({ detectors: [broken], replacement: tag });
    const run = pipeline(
      Readable.from([Buffer.from('x'.repeat(100) + 'SECRET-12345678')]),
      t,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      }),
    );
    await expect(run).rejects.toMatchObject({ code: 'GH_ERR_MASKING_FAILED' });
    expect(Buffer.concat(out).toString()).not.toContain('SECRET-12345678');
    expect(out.length).toBe(0);
  });
});

describe('stream window derived from the selected detectors', () => {
  const b64 = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj';
  const pem = `-----BEGIN RSA PRIVATE KEY-----\n${Array.from({ length: 30 }, () => b64).join('\n')}\n-----END RSA PRIVATE KEY-----`;
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const token = `${header}.${Buffer.from(JSON.stringify({ sub: 'x'.repeat(300) })).toString('base64url')}.${'s'.repeat(43)}`;
  const gcp = `{"type":"service_account","private_key":"${pem.replace(/\n/g, '\\n')}\\n","client_email":"svc@demo.iam.gserviceaccount.com"}`;
  const doc = [
    'x'.repeat(3000),
    `key:\n${pem}\n`,
    `Authorization: Bearer ${token} and mail alice@example.com`,
    'y'.repeat(2000),
    gcp,
    ` password=Sup3rS3cret! ghp_${'A'.repeat(36)} card 4111 1111 1111 1111 ip 10.1.2.3 `,
    '-----BEGIN PRIVATE KEY----- never ends '.repeat(3),
    'z'.repeat(500),
  ].join('\n');

  it('with the built-in detectors, equals redactText(whole) for random chunkings of a mixed document', () => {
    const detectors = builtInDetectors();
    const expected = redactText(doc, detectors, tag);
    expect(expected.counts.private_key).toBe(1);
    expect(expected.counts.jwt).toBe(1);
    expect(expected.counts.gcp_service_account_key).toBe(1);
    const rand = prng(7);
    for (let trial = 0; trial < 40; trial++) {
      const r = createStreamRedactor({ detectors, replacement: tag });
      let out = '';
      for (let pos = 0; pos < doc.length; ) {
        const n = 1 + Math.floor(rand() * (trial % 2 === 0 ? 40 : 3000));
        out += r.push(doc.slice(pos, pos + n));
        pos += n;
      }
      out += r.end();
      expect({ trial, same: out === expected.text }).toEqual({ trial, same: true });
      expect(r.counts).toEqual(expected.counts);
    }
  });

  it('holds back little when no long match can be arriving (a PEM rule does not delay every chunk)', () => {
    const r = createStreamRedactor({ detectors: builtInDetectors(), replacement: tag });
    const released = r.push('plain words '.repeat(1000));
    // The longest short rule (database URLs, 560) bounds the hold-back, not the PEM rule's 16 200.
    expect(12_000 - released.length).toBeLessThan(600);
  });

  it('holds a PEM key that is still arriving, then masks it whole', () => {
    const r = createStreamRedactor({ detectors: builtInDetectors(), replacement: tag });
    const half = Math.floor(pem.length / 2);
    const first = r.push(`before ${pem.slice(0, half)}`);
    expect(first).toBe('before ');
    expect(first + r.push(pem.slice(half)) + r.push(' after') + r.end()).toBe('before [PRIVATE_KEY] after');
  });

  it('a custom rule longer than every built-in widens the window instead of failing', () => {
    const long = customRegexDetector({ kind: 'regex', id: 'blob', type: 'blob', pattern: 'BLOB\\[[a-z]{1,20000}\\]', maxLength: 20_006 });
    expect(long.maxLength).toBe(20_006);
    const detectors = [...builtInDetectors(), long];
    const text = `a BLOB[${'q'.repeat(19_000)}] b alice@example.com`;
    const expected = redactText(text, detectors, tag);
    expect(expected.text).toBe('a [BLOB] b [EMAIL]');
    const r = createStreamRedactor({ detectors, replacement: tag });
    let out = '';
    for (let i = 0; i < text.length; i += 1024) out += r.push(text.slice(i, i + 1024));
    expect(out + r.end()).toBe(expected.text);
  });

  it('refuses a detector whose maxLength exceeds the streaming window limit', () => {
    let error: unknown;
    try {
      createStreamRedactor({ detectors: [regexDetector('huge', 'x', 'x', MAX_CARRY + 1)], replacement: tag });
    } catch (e) {
      error = e;
    }
    expect(isGatehouseError(error, 'GH_ERR_CONFIG_INVALID')).toBe(true);
  });
});
