import { maskingSchema } from '../../../../gateway/src/config/schema';
import type { Detector } from '../../../../gateway/src/masking/detector';
import { prepareMasking } from '../../../../gateway/src/masking/masking-policy';
import type { Column } from '../../../../gateway/src/protocols/postgres/messages';
import { createRowMasker, MaskedServerStream, type RowMasker } from '../../../../gateway/src/protocols/postgres/row-masking';

const EMAIL = 'ada.lovelace@example.com';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const HASH_KEY = 'a-masking-hash-key-of-32-bytes!!';

const boom: Detector = {
  id: 'test-boom',
  type: 'boom',
  family: 'secret',
  maxLength: 4,
  find(text: string) {
    if (text.includes('BOOM')) throw new Error(`detector exploded on ${text}`);
    return [];
  },
};

async function masker(config: Record<string, unknown> = {}, extra: Detector[] = []): Promise<RowMasker> {
  const parsed = maskingSchema.parse(config);
  const prepared = prepareMasking(parsed, { connection: 'db', extraDetectors: extra })!;
  const policy = await prepared.resolve({ get: async (ref) => (ref === 'env:HASH' ? HASH_KEY : Promise.reject(new Error('no secret'))) });
  return createRowMasker(policy, parsed);
}

/** A DataRow body: int16 count, then int32 length + bytes per value (null → -1). */
function dataRowBody(values: (Buffer | string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(values.length, 0);
  for (const v of values) {
    const len = Buffer.alloc(4);
    if (v === null) {
      len.writeInt32BE(-1, 0);
      parts.push(len);
    } else {
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      len.writeInt32BE(b.length, 0);
      parts.push(len, b);
    }
  }
  return Buffer.concat(parts);
}

function frame(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A RowDescription body for the given columns. */
function rowDescriptionBody(cols: Column[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(2)];
  parts[0]!.writeInt16BE(cols.length, 0);
  for (const c of cols) {
    const rest = Buffer.alloc(18);
    rest.writeUInt32BE(c.typeOid, 6);
    rest.writeInt16BE(c.format, 16);
    parts.push(Buffer.from(`${c.name}\0`), rest);
  }
  return Buffer.concat(parts);
}

/** Decodes a whole DataRow message back into values (binary kept as Buffers). */
function decodeRow(message: Buffer): (Buffer | null)[] {
  expect(message[0]).toBe(0x44);
  expect(message.readInt32BE(1)).toBe(message.length - 1);
  const n = message.readInt16BE(5);
  let pos = 7;
  const out: (Buffer | null)[] = [];
  for (let i = 0; i < n; i++) {
    const len = message.readInt32BE(pos);
    pos += 4;
    if (len < 0) out.push(null);
    else {
      out.push(message.subarray(pos, pos + len));
      pos += len;
    }
  }
  expect(pos).toBe(message.length);
  return out;
}
const text = (v: Buffer | null | undefined): string | null => (v == null ? null : v.toString('utf8'));

const col = (name: string, typeOid = 25, format = 0): Column => ({ name, typeOid, format });

describe('DataRow masking (text format)', () => {
  test('detector matches are replaced inside values, lengths re-encoded, NULLs and clean values untouched', async () => {
    const m = await masker();
    const body = dataRowBody(['1', `mail ${EMAIL} now`, null, `key=${AWS_KEY}`, 'plain']);
    const cols = [col('id', 23), col('note'), col('gone'), col('secret'), col('name')];
    const r = m.maskDataRow(body, { columns: cols, formats: undefined });
    const values = decodeRow(r.message).map(text);
    expect(values[0]).toBe('1');
    expect(values[1]).toBe('mail [EMAIL] now');
    expect(values[2]).toBeNull();
    expect(values[3]).not.toContain(AWS_KEY);
    expect(values[4]).toBe('plain');
    expect(r.counts).toMatchObject({ email: 1 });
    expect(Object.values(r.counts).reduce((a, b) => a + b, 0)).toBe(2);
    expect(r.body.equals(r.message.subarray(5))).toBe(true);
  });

  test('a row with nothing to mask is sent as it came', async () => {
    const m = await masker();
    const body = dataRowBody(['1', 'plain', null]);
    const r = m.maskDataRow(body, { columns: [col('id', 23), col('a'), col('b')], formats: undefined });
    expect(r.message.equals(frame('D', body))).toBe(true);
    expect(r.counts).toEqual({});
  });

  test('listed columns are replaced whole, case-insensitively, with their type', async () => {
    const m = await masker({ columns: ['SSN', { name: 'salary', type: 'money' }] });
    const r = m.maskDataRow(dataRowBody(['123-45-6789', '100000', 'Ada']), { columns: [col('ssn'), col('Salary', 23), col('name')], formats: undefined });
    expect(decodeRow(r.message).map(text)).toEqual(['[COLUMN]', '[MONEY]', 'Ada']);
    expect(r.counts).toEqual({ column: 1, money: 1 });
  });

  test('json columns are masked by path and value', async () => {
    const m = await masker({ jsonPaths: ['$.token'] });
    const r = m.maskDataRow(dataRowBody([JSON.stringify({ token: 'tok-1', mail: EMAIL })]), { columns: [col('doc', 114)], formats: undefined });
    const out = JSON.parse(text(decodeRow(r.message)[0])!) as Record<string, string>;
    expect(out.token).not.toBe('tok-1');
    expect(out.mail).toBe('[EMAIL]');
  });

  test('keyed-hash replacement: equal inputs give equal outputs across rows, different inputs differ', async () => {
    const m = await masker({ replacement: { kind: 'keyed_hash', key: 'env:HASH' }, columns: ['ssn'] });
    const cols = [col('ssn'), col('mail')];
    const a = decodeRow(m.maskDataRow(dataRowBody(['111-11-1111', EMAIL]), { columns: cols, formats: undefined }).message).map(text);
    const b = decodeRow(m.maskDataRow(dataRowBody(['111-11-1111', EMAIL]), { columns: cols, formats: undefined }).message).map(text);
    const c = decodeRow(m.maskDataRow(dataRowBody(['222-22-2222', 'grace@example.com']), { columns: cols, formats: undefined }).message).map(text);
    expect(a).toEqual(b);
    expect(a[0]).not.toBe('111-11-1111');
    expect(a[0]).not.toBe(c[0]);
    expect(a[1]).toMatch(/^\[EMAIL:[0-9a-f]+\]$/);
    expect(a[1]).not.toBe(c[1]);
  });

  test('Bind result formats win over the description (a described statement says text for everything)', async () => {
    const m = await masker();
    // Described as text, bound as binary int4: must pass untouched, not be read as text.
    const int4 = Buffer.from([0, 0, 0, 7]);
    const r = m.maskDataRow(dataRowBody([int4, EMAIL]), { columns: [col('n', 23), col('mail')], formats: [1, 0] });
    const values = decodeRow(r.message);
    expect(values[0]!.equals(int4)).toBe(true);
    expect(text(values[1])).toBe('[EMAIL]');
  });
});

describe('DataRow masking (binary format)', () => {
  test('text-like types are masked as text; jsonb keeps its version byte; other types pass', async () => {
    const m = await masker();
    const jsonb = Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify({ mail: EMAIL }))]);
    const int8 = Buffer.from([0, 0, 0, 0, 0, 0, 0, 42]);
    const cols = [col('a', 25, 1), col('b', 1043, 1), col('c', 1042, 1), col('d', 3802, 1), col('e', 20, 1)];
    const r = m.maskDataRow(dataRowBody([EMAIL, `k ${AWS_KEY}`, EMAIL, jsonb, int8]), { columns: cols, formats: undefined });
    const v = decodeRow(r.message);
    expect(text(v[0])).toBe('[EMAIL]');
    expect(text(v[1])).not.toContain(AWS_KEY);
    expect(text(v[2])).toBe('[EMAIL]');
    expect(v[3]![0]).toBe(1);
    expect(JSON.parse(v[3]!.subarray(1).toString())).toEqual({ mail: '[EMAIL]' });
    expect(v[4]!.equals(int8)).toBe(true);
  });

  test('a listed binary column: text-like gets the replacement text, another type becomes NULL', async () => {
    const m = await masker({ columns: ['ssn', 'pin'] });
    const r = m.maskDataRow(dataRowBody(['123-45-6789', Buffer.from([0, 0, 4, 210])]), { columns: [col('ssn', 25, 1), col('pin', 23, 1)], formats: undefined });
    const v = decodeRow(r.message);
    expect(text(v[0])).toBe('[COLUMN]');
    expect(v[1]).toBeNull();
    expect(r.counts).toEqual({ column: 2 });
  });

  test('binary: refuse fails on a non-text binary value; an unknown jsonb version fails', async () => {
    const refuse = await masker({ binary: 'refuse' });
    expect(() => refuse.maskDataRow(dataRowBody([Buffer.from([0, 0, 0, 1])]), { columns: [col('n', 23, 1)], formats: undefined })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }),
    );
    const m = await masker();
    expect(() => m.maskDataRow(dataRowBody([Buffer.from([2, 0x7b, 0x7d])]), { columns: [col('j', 3802, 1)], formats: undefined })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }),
    );
  });

  test('without a row description: column rules or a binary value fail closed; text is still masked by value', async () => {
    const withColumns = await masker({ columns: ['ssn'] });
    expect(() => withColumns.maskDataRow(dataRowBody(['x']), undefined)).toThrow(expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }));
    const m = await masker();
    expect(() => m.maskDataRow(dataRowBody(['x']), { columns: undefined, formats: [1] })).toThrow(expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }));
    expect(decodeRow(m.maskDataRow(dataRowBody([EMAIL]), { columns: undefined, formats: [] }).message).map(text)).toEqual(['[EMAIL]']);
  });

  test('a throwing detector and a malformed row become GH_ERR_MASKING_FAILED without the value in the message', async () => {
    const m = await masker({}, [boom]);
    let caught: unknown;
    try {
      m.maskDataRow(dataRowBody([`BOOM ${EMAIL}`]), { columns: [col('a')], formats: undefined });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'GH_ERR_MASKING_FAILED' });
    expect(String((caught as Error).message)).not.toContain(EMAIL);
    const bad = dataRowBody(['abc']).subarray(0, 8);
    expect(() => m.maskDataRow(bad, { columns: [col('a')], formats: undefined })).toThrow(expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }));
  });
});

describe('COPY TO STDOUT', () => {
  const copyOut = (format: number): Buffer => Buffer.from([format, 0, 1, 0, format]);

  test('text lines are masked; binary COPY and COPY with column rules are refused', async () => {
    const m = await masker();
    m.startCopyOut(copyOut(0));
    const r = m.maskCopyData(Buffer.from(`1\t${EMAIL}\n`));
    expect(r.message.subarray(5).toString()).toBe('1\t[EMAIL]\n');
    expect(r.message.readInt32BE(1)).toBe(r.message.length - 1);
    expect(() => m.startCopyOut(copyOut(1))).toThrow(expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }));
    const withColumns = await masker({ columns: ['ssn'] });
    expect(() => withColumns.startCopyOut(copyOut(0))).toThrow(expect.objectContaining({ code: 'GH_ERR_MASKING_FAILED' }));
  });
});

describe('ErrorResponse and NoticeResponse masking', () => {
  /** Fields of an ErrorResponse/NoticeResponse body: code letter + text, NUL-terminated, then a NUL. */
  const fields = (f: [string, string][]): Buffer => Buffer.concat([...f.map(([c, v]) => Buffer.from(`${c}${v}\0`)), Buffer.from([0])]);
  const parse = (body: Buffer): Record<string, string> => {
    const out: Record<string, string> = {};
    let pos = 0;
    while (body[pos] !== 0) {
      const end = body.indexOf(0, pos + 1);
      out[String.fromCharCode(body[pos]!)] = body.subarray(pos + 1, end).toString('utf8');
      pos = end + 1;
    }
    expect(pos).toBe(body.length - 1);
    return out;
  };

  test('message, detail, hint and context are masked; severity, code, names and positions are not; a clean one is unchanged', async () => {
    const m = await masker({ replacement: { kind: 'type_tag' } });
    const body = fields([
      ['S', 'ERROR'], ['V', 'ERROR'], ['C', '23505'], ['M', 'duplicate key value violates unique constraint "accounts_pkey"'],
      ['D', `Key (email)=(${EMAIL}) already exists.`], ['H', `try ${AWS_KEY}`], ['W', `SQL statement "insert ... '${EMAIL}'"`],
      ['s', 'public'], ['t', 'accounts'], ['n', 'accounts_pkey'], ['P', '12'],
    ]);
    const r = m.maskNotice(0x45, body);
    expect(r.message[0]).toBe(0x45);
    expect(r.message.readInt32BE(1)).toBe(r.message.length - 1);
    expect(parse(r.body)).toEqual({
      S: 'ERROR', V: 'ERROR', C: '23505', M: 'duplicate key value violates unique constraint "accounts_pkey"',
      D: 'Key (email)=([EMAIL]) already exists.', H: 'try [AWS_ACCESS_KEY_ID]', W: `SQL statement "insert ... '[EMAIL]'"`,
      s: 'public', t: 'accounts', n: 'accounts_pkey', P: '12',
    });
    expect(r.counts).toEqual({ email: 2, aws_access_key_id: 1 });
    const clean = fields([['S', 'NOTICE'], ['C', '00000'], ['M', 'nothing to see']]);
    const n = m.maskNotice(0x4e, clean);
    expect(n.body.equals(clean)).toBe(true);
    expect(n.message[0]).toBe(0x4e);
  });

  test('a malformed field or a throwing detector fails closed without quoting the text', async () => {
    const m = await masker({}, [boom]);
    const thrown = (f: () => unknown): { code?: string; message?: string } => {
      try {
        f();
      } catch (e) {
        return e as { code?: string; message?: string };
      }
      return {};
    };
    const unterminated = thrown(() => m.maskNotice(0x45, Buffer.from(`M${EMAIL}`)));
    expect(unterminated.code).toBe('GH_ERR_MASKING_FAILED');
    expect(unterminated.message).not.toContain(EMAIL);
    const boomed = thrown(() => m.maskNotice(0x4e, fields([['M', 'BOOM here']])));
    expect(boomed.code).toBe('GH_ERR_MASKING_FAILED');
    expect(boomed.message).not.toContain('BOOM');
  });
});

describe('MaskedServerStream', () => {
  interface Seen {
    forwarded: Buffer[];
    counts: Record<string, number>[];
    failures: string[];
    shapes: number;
  }
  function stream(m: RowMasker, columnsAt: () => Column[] | undefined): { s: MaskedServerStream; seen: Seen } {
    const seen: Seen = { forwarded: [], counts: [], failures: [], shapes: 0 };
    const s = new MaskedServerStream(
      m,
      {
        forward: (b) => seen.forwarded.push(Buffer.from(b)),
        shape: () => {
          seen.shapes++;
          return { columns: columnsAt(), formats: undefined };
        },
        counted: (c) => seen.counts.push(c),
        failed: (e) => seen.failures.push(e.code),
        closed: () => seen.failures.length > 0,
      },
      1 << 20,
    );
    return { s, seen };
  }

  test('messages split anywhere come out whole; rows masked; state messages forwarded before a row is read', async () => {
    const m = await masker();
    const cols = [col('id', 23), col('mail')];
    const rd = frame('T', rowDescriptionBody(cols));
    const rows = [frame('D', dataRowBody(['1', EMAIL])), frame('D', dataRowBody(['2', 'none']))];
    const cc = frame('C', Buffer.from('SELECT 2\0'));
    const z = frame('Z', Buffer.from('I'));
    const all = Buffer.concat([rd, ...rows, cc, z]);
    // The description becomes known to the connection only once the RowDescription was forwarded.
    let described = false;
    const { s, seen } = stream(m, () => (described ? cols : undefined));
    const origForward = seen.forwarded;
    for (let i = 0; i < all.length; i += 3) {
      s.push(all.subarray(i, i + 3));
      if (origForward.some((b) => b.includes(rd))) described = true;
    }
    const out = Buffer.concat(seen.forwarded);
    const expected = Buffer.concat([rd, frame('D', dataRowBody(['1', '[EMAIL]'])), rows[1]!, cc, z]);
    expect(out.equals(expected)).toBe(true);
    expect(seen.counts).toEqual([{ email: 1 }]);
    expect(seen.failures).toEqual([]);
  });

  test('the RowDescription is forwarded (so the connection knows it) before the first row of the same chunk is masked', async () => {
    const m = await masker({ columns: ['ssn'] });
    const cols = [col('ssn')];
    const rd = frame('T', rowDescriptionBody(cols));
    let known = false;
    const seen: Buffer[] = [];
    const s = new MaskedServerStream(
      m,
      {
        forward: (b) => {
          seen.push(Buffer.from(b));
          if (b.includes(rd)) known = true;
        },
        shape: () => ({ columns: known ? cols : undefined, formats: undefined }),
        counted: () => undefined,
        failed: (e) => {
          throw e;
        },
        closed: () => false,
      },
      1 << 20,
    );
    s.push(Buffer.concat([rd, frame('D', dataRowBody(['123-45-6789'])), frame('C', Buffer.from('SELECT 1\0'))]));
    expect(Buffer.concat(seen).includes(Buffer.from('123-45-6789'))).toBe(false);
    expect(Buffer.concat(seen).includes(Buffer.from('[COLUMN]'))).toBe(true);
  });

  test('a failure forwards nothing of the failing row or after it, and nothing ever again', async () => {
    const m = await masker({}, [boom]);
    const cols = [col('a')];
    const { s, seen } = stream(m, () => cols);
    const good = frame('D', dataRowBody(['fine']));
    const bad = frame('D', dataRowBody(['BOOM secret']));
    s.push(Buffer.concat([good, bad, frame('D', dataRowBody(['after'])), frame('C', Buffer.from('SELECT 3\0'))]));
    s.push(frame('Z', Buffer.from('I')));
    expect(seen.failures).toEqual(['GH_ERR_MASKING_FAILED']);
    const out = Buffer.concat(seen.forwarded);
    expect(out.includes(Buffer.from('BOOM'))).toBe(false);
    expect(out.includes(Buffer.from('after'))).toBe(false);
    expect(out.includes(Buffer.from('SELECT 3'))).toBe(false);
  });

  test('COPY data is masked only between CopyOutResponse and CopyDone; binary COPY fails', async () => {
    const m = await masker();
    const { s, seen } = stream(m, () => undefined);
    const h = frame('H', Buffer.from([0, 0, 1, 0, 0]));
    s.push(Buffer.concat([h, frame('d', Buffer.from(`${EMAIL}\n`)), frame('c', Buffer.alloc(0)), frame('C', Buffer.from('COPY 1\0'))]));
    const out = Buffer.concat(seen.forwarded);
    expect(out.includes(Buffer.from(EMAIL))).toBe(false);
    expect(out.includes(Buffer.from('[EMAIL]\n'))).toBe(true);
    const binary = stream(m, () => undefined);
    binary.s.push(Buffer.concat([frame('H', Buffer.from([1, 0, 1, 0, 1])), frame('d', Buffer.from(EMAIL))]));
    expect(binary.seen.failures).toEqual(['GH_ERR_MASKING_FAILED']);
    expect(Buffer.concat(binary.seen.forwarded).includes(Buffer.from(EMAIL))).toBe(false);
  });
});
