import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Detector } from '../../../gateway/src/masking/detector';
import { redactText } from '../../../gateway/src/masking/redact';
import { createReplacement } from '../../../gateway/src/masking/replacement';
import { createRedactingTransform, createStreamRedactor } from '../../../gateway/src/masking/stream-redactor';
import { isGatehouseError } from '../../../gateway/src/errors';
import { emailDetector, prng, secretDetector, testDetectors } from './redact.helpers';

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
